package io.mmulab.testkit.scenario;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.sim.mm.Mman;
import java.util.List;

/**
 * <b>VMA split under a device mapping.</b> The device maps all six pages of a buffer (one VMA,
 * writable), then keeps reading every page and writing pages 0 and 3 while a CPU thread unmaps page
 * 2 (the VMA splits in two) and makes pages 4 and 5 read-only (the upper part splits again).
 *
 * <p>Race probed: a driver that tracks the VMA it subscribed to rather than the pages the
 * invalidation names. Its subscription's range is not updated when the VMA splits: a callback that
 * tears down the whole subscription (or that finds nothing to do because the range is no longer its
 * VMA's) leaves pages it should keep unusable, or keeps pages it should drop. Only the overlapping
 * part must go ({@code STALE_USE} for a translation kept into the hole, {@code PERMISSION} for a
 * write through the read-only part), and the rest must stay valid and usable.
 *
 * <p>Verbs: {@code prefetch} (writable), {@code read}, {@code write}. Expectations: every read of
 * an untouched page returns its value (the initial one, or the device's last write); afterwards
 * pages 0, 1 and 3 read and write, page 2 fails, pages 4 and 5 read but refuse writes, and for a
 * coherent device every read agrees with the CPU's load.
 */
final class VmaSplitUnderGrant implements Scenario {
  private static final int PAGES = 6;
  private static final int[] WRITTEN = {0, 3};

  @Override
  public String name() {
    return Scenarios.VMA_SPLIT_UNDER_GRANT;
  }

  @Override
  public String description() {
    return "part of a mapped VMA is unmapped and part made read-only; only that part may go";
  }

  @Override
  public void run(ScenarioContext ctx) throws ErrnoException {
    Buffer buf = ctx.mapBuffer(PAGES);
    DriverAdapter dev = ctx.adapter();
    dev.prefetch(buf.va(0), buf.length(), true);
    ThreadHandle cpu =
        ctx.cpu(
            "split",
            () -> {
              ctx.process().munmap(buf.va(2), Buffer.pages(1));
              ctx.process().mprotect(buf.va(4), Buffer.pages(2), Mman.PROT_READ);
            });
    long[] last = {Buffer.initial(0), Buffer.initial(3)};
    ctx.spawn(
        "device",
        () -> {
          long[] next = {0x5000L};
          ctx.repeatWhileRunning(
              List.of(cpu),
              () -> {
                for (int w = 0; w < WRITTEN.length; w++) {
                  if (ctx.tryWrite(dev, buf.va(WRITTEN[w]), ++next[0])) {
                    last[w] = next[0];
                  }
                }
                for (int p = 0; p < PAGES; p++) {
                  long want = p == 0 ? last[0] : p == 3 ? last[1] : Buffer.initial(p);
                  int page = p;
                  ctx.tryRead(dev, buf.va(p))
                      .ifPresent(
                          v ->
                              ctx.expect(
                                  ViolationKind.STALE_USE,
                                  v == want,
                                  "page %d read %#x, expected %#x",
                                  page,
                                  v,
                                  want));
                }
              });
        });
    ctx.joinAll();

    for (int p : new int[] {0, 1, 3}) {
      long v = 0x7000L + p;
      dev.write(buf.va(p), new long[] {v});
      long device = dev.read(buf.va(p), 1)[0];
      ctx.expect(
          ViolationKind.STALE_USE,
          device == v && ctx.process().load(buf.va(p)) == v,
          "page %d outside the split parts: device read %#x after writing %#x",
          p,
          device,
          v);
    }
    ctx.expect(
        ViolationKind.STALE_USE,
        ctx.tryRead(dev, buf.va(2)).isEmpty(),
        "the unmapped page 2 was readable");
    for (int p = 4; p < PAGES; p++) {
      long device = dev.read(buf.va(p), 1)[0];
      ctx.expect(
          ViolationKind.STALE_USE,
          device == Buffer.initial(p) && device == ctx.process().load(buf.va(p)),
          "read-only page %d: device read %#x",
          p,
          device);
      ctx.expect(
          ViolationKind.PERMISSION,
          !ctx.tryWrite(dev, buf.va(p), 0xDEADL),
          "device wrote page %d after mprotect(PROT_READ) returned",
          p);
    }
  }
}
