package io.mmulab.testkit.scenario;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.sync.WaitQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * <b>munmap zap vs fault.</b> A CPU thread unmaps the middle two pages of a 4-page buffer, maps
 * them again and refills them, {@value #CYCLES} times. munmap downgrades the mmap lock to read once
 * the VMAs are detached, as the kernel does since 4.20, so the zap runs with the lock only
 * read-held. A probe subscription over the unmapped pages wakes the device thread from inside each
 * UNMAP invalidation, and the device then reads every page (faulting as needed) while that
 * invalidation's zap and end are still to come.
 *
 * <p>Race probed: a fault path that assumes munmap excludes it for the whole invalidation (the mmap
 * lock held for write until the end), so it maps what it looked up during the zap: a page whose CPU
 * entry is about to go ({@code STALE_USE}, then {@code USE_AFTER_FREE}), or a missing {@code
 * readRetry} after a lookup that the window's end makes stale.
 *
 * <p>Verbs: {@code read}. Expectations: every successful read returns the page's initial value (or
 * zero, for a remapped page not refilled yet); afterwards the surviving pages read back and the
 * unmapped ones fail.
 */
final class MunmapZapVsFault implements Scenario {
  static final int CYCLES = 2;
  private static final int PAGES = 4;

  @Override
  public String name() {
    return Scenarios.MUNMAP_ZAP_VS_FAULT;
  }

  @Override
  public String description() {
    return "device faults run during munmap's zap, with the mmap lock downgraded to read";
  }

  @Override
  public void run(ScenarioContext ctx) throws ErrnoException {
    Buffer buf = ctx.mapBuffer(PAGES);
    DriverAdapter dev = ctx.adapter();
    ctx.warmUp(dev, buf, false);
    AtomicInteger zaps = new AtomicInteger();
    WaitQueue zapping = ctx.runtime().newWaitQueue("munmap-zap-vs-fault.zapping");
    MmuIntervalNotifier probe =
        ctx.process()
            .mm()
            .insertIntervalNotifier(
                buf.va(1),
                Buffer.pages(2),
                (sub, range, curSeq) -> {
                  if (range.event() == MmuNotifierEvent.UNMAP) {
                    zaps.incrementAndGet();
                    zapping.wakeUpAll();
                  }
                  return true;
                });
    ctx.cpu("munmap", () -> MunmapVsFault.unmapAndRemap(ctx, buf, CYCLES));
    ctx.spawn(
        "device",
        () -> {
          for (int cycle = 1; cycle <= CYCLES; cycle++) {
            int c = cycle;
            zapping.waitEvent(() -> zaps.get() >= c);
            MunmapVsFault.readAll(ctx, dev, buf);
          }
        });
    ctx.joinAll();
    probe.remove();

    MunmapVsFault.checkSurvivorsAndHole(ctx, dev, buf);
  }
}
