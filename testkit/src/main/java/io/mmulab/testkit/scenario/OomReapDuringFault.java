package io.mmulab.testkit.scenario;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverAdapter;
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
 * USE_AFTER_FREE}, {@code STALE_USE}); a callback that refuses forever starves the reaper.
 *
 * <p>Verbs: {@code read}, {@code write}. Expectations: reads return the initial value, the value
 * the device wrote, or zero (reaped); once the device is idle, a reap succeeds at its first
 * attempt.
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
                    long mine = 0x6000L + p;
                    ctx.tryRead(dev, buf.va(p))
                        .ifPresent(
                            v ->
                                ctx.expect(
                                    v == Buffer.initial(page) || v == mine || v == 0,
                                    "page %d read %#x",
                                    page,
                                    v));
                    ctx.tryWrite(dev, buf.va(p), mine);
                  }
                }));
    ctx.joinAll();

    int attempts = reaper.reap(ctx.process());
    ctx.expect(
        attempts == 1, "a reap with the device idle took %d attempts (0: gave up)", attempts);
  }
}
