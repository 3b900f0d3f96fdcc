package io.mmulab.testkit.scenario;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.sim.mm.Mman;
import java.util.List;

/**
 * <b>munmap vs fault.</b> The device reads every page of a 4-page buffer, round after round for as
 * long as the CPU side runs, faulting them in, while a CPU thread unmaps the middle two pages, maps
 * them again (fresh memory, refilled with the initial values) and unmaps them again, {@value
 * #CYCLES} times in all.
 *
 * <p>Race probed: the fault path looks a page up before munmap's invalidation and programs the
 * device after its callback returned (the "lookup after start" race of the pre-5.5 drivers, or a
 * missing {@code readRetry}), so the device keeps a translation to a frame that munmap frees:
 * {@code STALE_USE}, then {@code USE_AFTER_FREE} when the frame is reused. Also a callback that
 * does not zap, and a subscription left behind at teardown ({@code LIFETIME} when the process exits
 * at the end of the run).
 *
 * <p>Verbs: {@code read}. Expectations: every successful read returns the page's initial value (or
 * zero, for a remapped page not refilled yet); afterwards the surviving pages read back and the
 * unmapped ones fail.
 */
final class MunmapVsFault implements Scenario {
  static final int CYCLES = 3;
  private static final int PAGES = 4;

  @Override
  public String name() {
    return Scenarios.MUNMAP_VS_FAULT;
  }

  @Override
  public String description() {
    return "device faults race munmap (and remap) of the pages they look up";
  }

  @Override
  public void run(ScenarioContext ctx) throws ErrnoException {
    Buffer buf = ctx.mapBuffer(PAGES);
    DriverAdapter dev = ctx.adapter();
    ctx.warmUp(dev, buf, false);
    ThreadHandle cpu = ctx.cpu("munmap", () -> unmapAndRemap(ctx, buf, CYCLES));
    ctx.spawn("device", () -> ctx.repeatWhileRunning(List.of(cpu), () -> readAll(ctx, dev, buf)));
    ctx.joinAll();

    checkSurvivorsAndHole(ctx, dev, buf);
  }

  /** After the last munmap: pages 0 and 3 hold their values, pages 1 and 2 are gone. */
  static void checkSurvivorsAndHole(ScenarioContext ctx, DriverAdapter dev, Buffer buf)
      throws ErrnoException {
    for (int p : new int[] {0, 3}) {
      long v = dev.read(buf.va(p), 1)[0];
      ctx.expect(
          ViolationKind.STALE_USE,
          v == Buffer.initial(p),
          "surviving page %d read %#x after munmap",
          p,
          v);
    }
    for (int p : new int[] {1, 2}) {
      ctx.expect(
          ViolationKind.STALE_USE,
          ctx.tryRead(dev, buf.va(p)).isEmpty(),
          "unmapped page %d was readable",
          p);
    }
  }

  /**
   * {@code cycles} times: munmap pages 1 and 2; but for the last time, map them again ({@code
   * MAP_FIXED}, fresh zeroed frames) and store their initial values.
   */
  static void unmapAndRemap(ScenarioContext ctx, Buffer buf, int cycles) throws ErrnoException {
    for (int cycle = 1; cycle <= cycles; cycle++) {
      ctx.process().munmap(buf.va(1), Buffer.pages(2));
      if (cycle == cycles) {
        return;
      }
      ctx.process()
          .mmap(
              buf.va(1),
              Buffer.pages(2),
              Mman.PROT_READ | Mman.PROT_WRITE,
              Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | Mman.MAP_FIXED);
      for (int p = 1; p <= 2; p++) {
        ctx.process().store(buf.va(p), Buffer.initial(p));
      }
    }
  }

  /** One device read of every page: the initial value, or 0 in a remapped page, or a fault. */
  static void readAll(ScenarioContext ctx, DriverAdapter dev, Buffer buf) {
    for (int p = 0; p < PAGES; p++) {
      int page = p;
      boolean remapped = p == 1 || p == 2;
      ctx.tryRead(dev, buf.va(p))
          .ifPresent(
              v ->
                  ctx.expect(
                      ViolationKind.STALE_USE,
                      v == Buffer.initial(page) || (remapped && v == 0),
                      "page %d read %#x",
                      page,
                      v));
    }
  }
}
