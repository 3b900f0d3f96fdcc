package io.mmulab.testkit.scenario;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.sim.mm.Madvise;
import io.mmulab.sim.mm.Mman;
import io.mmulab.sim.mm.SimMm;
import io.mmulab.sim.mm.SimProcess;

/**
 * <b>Nested invalidation vs register.</b> A 2 MiB huge page whose first four pages hold their
 * initial values, read by the device. A CPU thread drops pages 1–2 ({@code MADV_DONTNEED}): the zap
 * is one invalidation, and the huge-page split inside it is a second one, nested on the same thread
 * (start, start, end, end). Meanwhile a "register" thread makes the device reach memory it never
 * touched (a fresh 2-page buffer: a driver that registers memory on first use registers it now),
 * then reads the huge page's four pages again, during the zap if the schedule says so.
 *
 * <p>Race probed: a lock a driver holds from an invalidation's start to its end and takes again in
 * a nested start on the same thread, while a registration queues for it in between: with a
 * writer-preferring semaphore (the kernel's), the nested start waits for the queued writer, which
 * waits for the outer start ({@code DEADLOCK}, with the cycle of waits). Also a fault path that
 * misses the inner window or maps a page of the block the split is replacing ({@code STALE_USE}).
 *
 * <p>Verbs: {@code read}. Expectations: successful reads return the initial value, or zero for the
 * dropped pages 1–2; afterwards the fresh buffer and pages 0 and 3 read back their initial values
 * and pages 1–2 read zero.
 */
final class NestedInvalidationVsRegister implements Scenario {
  private static final int PAGES = 4;
  private static final int MAX_DELAY = 16;

  @Override
  public String name() {
    return Scenarios.NESTED_INVALIDATION_VS_REGISTER;
  }

  @Override
  public String description() {
    return "a registration races a zap whose huge-page split nests a second invalidation";
  }

  @Override
  public void run(ScenarioContext ctx) throws ErrnoException {
    SimProcess p = ctx.process();
    long huge =
        p.mmap(
            0,
            SimMm.HPAGE_SIZE,
            Mman.PROT_READ | Mman.PROT_WRITE,
            Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | Mman.MAP_HUGE);
    Buffer block = new Buffer(p, huge, PAGES);
    for (int i = 0; i < PAGES; i++) {
      p.store(block.va(i), Buffer.initial(i));
    }
    Buffer fresh = ctx.mapBuffer(2);
    DriverAdapter dev = ctx.adapter();
    ctx.warmUp(dev, block, false);

    // The same delay for both: the registration and the zap start close together.
    int delay = ctx.random().nextInt(MAX_DELAY + 1);
    ctx.cpuAfter("zap", delay, () -> p.madvise(block.va(1), Buffer.pages(2), Madvise.DONTNEED));
    ctx.cpuAfter(
        "register",
        delay,
        () -> {
          readAll(ctx, dev, fresh, false);
          readAll(ctx, dev, block, true);
        });
    ctx.joinAll();

    for (int i = 0; i < PAGES; i++) {
      long v = dev.read(block.va(i), 1)[0];
      long want = dropped(i) ? 0 : Buffer.initial(i);
      ctx.expect(ViolationKind.STALE_USE, v == want, "huge page %d read %#x, not %#x", i, v, want);
    }
    for (int i = 0; i < fresh.pages(); i++) {
      long v = dev.read(fresh.va(i), 1)[0];
      ctx.expect(ViolationKind.STALE_USE, v == Buffer.initial(i), "fresh page %d read %#x", i, v);
    }
  }

  private static boolean dropped(int page) {
    return page == 1 || page == 2;
  }

  private static void readAll(ScenarioContext ctx, DriverAdapter dev, Buffer buf, boolean zapped) {
    for (int i = 0; i < buf.pages(); i++) {
      int page = i;
      ctx.tryRead(dev, buf.va(i))
          .ifPresent(
              v ->
                  ctx.expect(
                      ViolationKind.STALE_USE,
                      v == Buffer.initial(page) || (zapped && dropped(page) && v == 0),
                      "page %d read %#x",
                      page,
                      v));
    }
  }
}
