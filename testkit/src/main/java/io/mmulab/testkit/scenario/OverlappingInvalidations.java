package io.mmulab.testkit.scenario;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.sim.mm.Madvise;
import java.util.List;

/**
 * <b>Overlapping invalidations vs two faults.</b> Two CPU threads open overlapping invalidation
 * windows at about the same time (both hold {@code mmap_lock} for read, so nothing serialises
 * them): one migrates pages 0–2 of a 4-page buffer, the other discards pages 1–3 ({@code
 * MADV_DONTNEED}), each twice. Two device threads fault the pages in for as long as the CPU side
 * runs: one reads them in ascending order, the other writes them (with their initial values) in
 * descending order.
 *
 * <p>Race probed: a driver that tracks "an invalidation is in progress" with a flag instead of a
 * count (or checks its sequence against one window only) believes the address space stable when the
 * first window ends while the second is still open, and maps a frame the second is about to take
 * away: {@code STALE_USE}. Also two faults populating the same page at once, one for read and one
 * for write: a read fault that re-maps a page read-only without flushing the device TLB lets the
 * writer go on writing through its stale writable entry ({@code PERMISSION}).
 *
 * <p>Verbs: {@code read} and {@code write}, from two threads at once. Expectations: reads return
 * the initial value or zero (discarded); afterwards page 0 holds its initial value and, for a
 * coherent device, every page reads what the CPU loads.
 */
final class OverlappingInvalidations implements Scenario {
  private static final int PAGES = 4;
  private static final int MAX_START = 64;
  private static final int JITTER = 4;
  private static final int TIMES = 2;

  @Override
  public String name() {
    return Scenarios.OVERLAPPING_INVALIDATIONS;
  }

  @Override
  public String description() {
    return "two overlapping invalidations (migrate, MADV_DONTNEED) race two device faults";
  }

  @Override
  public void run(ScenarioContext ctx) throws ErrnoException {
    Buffer buf = ctx.mapBuffer(PAGES);
    DriverAdapter dev = ctx.adapter();
    ctx.warmUp(dev, buf, false);
    int start = ctx.random().nextInt(MAX_START + 1);
    List<ThreadHandle> cpus =
        List.of(
            ctx.cpuAfter(
                "migrate",
                start,
                () -> {
                  for (int i = 0; i < TIMES; i++) {
                    ctx.process().migrate(buf.va(0), buf.va(3), "migrator");
                  }
                }),
            ctx.cpuAfter(
                "dontneed",
                start + ctx.random().nextInt(JITTER + 1),
                () -> {
                  for (int i = 0; i < TIMES; i++) {
                    ctx.process().madvise(buf.va(1), Buffer.pages(3), Madvise.DONTNEED);
                  }
                }));
    ctx.spawn("reader", () -> ctx.repeatWhileRunning(cpus, () -> readAll(ctx, dev, buf)));
    ctx.spawn("writer", () -> ctx.repeatWhileRunning(cpus, () -> writeAll(ctx, dev, buf)));
    ctx.joinAll();

    for (int p = 0; p < PAGES; p++) {
      long v = dev.read(buf.va(p), 1)[0];
      ctx.expect(
          ViolationKind.STALE_USE,
          p == 0 ? v == Buffer.initial(0) : v == Buffer.initial(p) || v == 0,
          "page %d read %#x after both windows closed",
          p,
          v);
      if (ctx.model().coherent()) {
        long cpu = ctx.process().load(buf.va(p));
        ctx.expect(
            ViolationKind.STALE_USE,
            v == cpu,
            "page %d: the device reads %#x, the CPU loads %#x",
            p,
            v,
            cpu);
      }
    }
  }

  /** Read faults, ascending. */
  private static void readAll(ScenarioContext ctx, DriverAdapter dev, Buffer buf) {
    for (int p = 0; p < PAGES; p++) {
      int page = p;
      ctx.tryRead(dev, buf.va(p))
          .ifPresent(
              v ->
                  ctx.expect(
                      ViolationKind.STALE_USE,
                      v == Buffer.initial(page) || v == 0,
                      "page %d read %#x",
                      page,
                      v));
    }
  }

  /** Write faults, descending; they write what the page held, so the contents stay known. */
  private static void writeAll(ScenarioContext ctx, DriverAdapter dev, Buffer buf) {
    for (int p = PAGES - 1; p >= 0; p--) {
      ctx.tryWrite(dev, buf.va(p), Buffer.initial(p));
    }
  }
}
