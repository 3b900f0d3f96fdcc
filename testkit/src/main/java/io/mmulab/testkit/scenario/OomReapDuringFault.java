package io.mmulab.testkit.scenario;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.sim.mm.OomReaper;
import java.util.List;

/**
 * <b>OOM reap (non-blocking) during a fault.</b> The device reads and writes the pages of a 4-page
 * buffer, faulting them in, for as long as the CPU side runs, while the OOM reaper tears the
 * process's private memory down with <em>non-blockable</em> {@code UNMAP} invalidations, retrying
 * (after a short virtual sleep) those a driver refused with {@code EAGAIN}.
 *
 * <p>Race probed: a callback that sleeps in a non-blockable range (takes a mutex, waits for a
 * fence) breaks the {@code SLEEP_IN_NONBLOCKABLE_CALLBACK} lock rule, which fails the run; a
 * callback that answers "done" without zapping leaves the device on frames the reaper frees ({@code
 * USE_AFTER_FREE}, {@code STALE_USE}). Refusing is allowed, as in the kernel: i915 and nouveau
 * refuse every non-blockable range, and the reaper then gives up, leaving the memory to the exit
 * path; only what a refusal or a reap leaves behind is judged.
 *
 * <p>Verbs: {@code read}, {@code write}. Expectations: reads return the initial value, the value
 * the device wrote, or zero (reaped); after a last reap with the device idle, the device reads zero
 * if that reap succeeded and one of those values if it gave up.
 */
final class OomReapDuringFault implements Scenario {
  private static final int PAGES = 4;
  private static final int ATTEMPTS = 20;
  private static final long RETRY_DELAY_NANOS = 20_000;

  @Override
  public String name() {
    return Scenarios.OOM_REAP_DURING_FAULT;
  }

  @Override
  public String description() {
    return "the OOM reaper's non-blockable invalidations race device faults";
  }

  @Override
  public void run(ScenarioContext ctx) throws ErrnoException {
    Buffer buf = ctx.mapBuffer(PAGES);
    DriverAdapter dev = ctx.adapter();
    ctx.warmUp(dev, buf, true);
    OomReaper reaper = new OomReaper(ATTEMPTS, RETRY_DELAY_NANOS);
    ThreadHandle reap =
        ctx.cpu(
            "oom-reaper",
            () -> {
              int attempts = reaper.reap(ctx.process());
              ctx.note("oom reaper: " + (attempts == 0 ? "gave up" : attempts + " attempt(s)"));
            });
    ctx.spawn(
        "device",
        () ->
            ctx.repeatWhileRunning(
                List.of(reap),
                () -> {
                  for (int p = 0; p < PAGES; p++) {
                    int page = p;
                    ctx.tryRead(dev, buf.va(p))
                        .ifPresent(
                            v ->
                                ctx.expect(
                                    ViolationKind.STALE_USE,
                                    plausible(page, v),
                                    "page %d read %#x",
                                    page,
                                    v));
                    ctx.tryWrite(dev, buf.va(p), written(p));
                  }
                }));
    ctx.joinAll();

    int attempts = reaper.reap(ctx.process());
    ctx.note("last oom reap, device idle: " + (attempts == 0 ? "gave up" : "reaped"));
    for (int p = 0; p < PAGES; p++) {
      int page = p;
      ctx.tryRead(dev, buf.va(p))
          .ifPresent(
              v ->
                  ctx.expect(
                      ViolationKind.STALE_USE,
                      attempts == 0 ? plausible(page, v) : v == 0,
                      "after a last reap that %s, page %d read %#x",
                      attempts == 0 ? "gave up" : "succeeded",
                      page,
                      v));
    }
  }

  private static long written(int page) {
    return 0x6000L + page;
  }

  /** The initial value, the device's own write, or zero (reaped and faulted in again). */
  private static boolean plausible(int page, long v) {
    return v == Buffer.initial(page) || v == written(page) || v == 0;
  }
}
