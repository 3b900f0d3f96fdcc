package io.mmulab.testkit.scenario;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.JobFence;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.sim.sched.FaultPlan;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

/**
 * <b>A fence that never signals (in time).</b> Runs with the deterministic runtime's {@code
 * fenceTimeout} fault (probability {@value #TIMEOUT_PROBABILITY}): a finite fence wait may sleep
 * its whole timeout and report a timeout although the job goes on; completions are also delayed.
 * The device submits write jobs to a 4-page buffer and waits for each with a short timeout,
 * abandoning those that time out, for as long as a CPU thread takes to unmap the first two pages;
 * then it submits one last job per page and tears the adapter down at once, with those jobs
 * possibly still queued or running.
 *
 * <p>Race probed: a driver that waits for its jobs with a timeout (in its invalidate callback or
 * its teardown) and takes the timeout for completion lets a job touch pages munmap freed ({@code
 * USE_AFTER_FREE}, {@code STALE_USE}) or run on a torn-down context ({@code LIFETIME}); a driver
 * that loses a job never signals its fence, a deadlock. A driver without asynchronous jobs returns
 * signaled fences, and the scenario only checks that nothing goes wrong.
 *
 * <p>Verbs: {@code submit} and the fences ({@code waitTimeout}, {@code error}), {@code teardown}
 * with jobs in flight. Expectations: in the end every fence signals (waited for without a timeout).
 */
final class FenceNeverSignals implements Scenario {
  static final double TIMEOUT_PROBABILITY = 0.5;
  private static final int PAGES = 4;
  private static final long USER_TIMEOUT_NANOS = 20_000;
  private static final FaultPlan FAULTS =
      FaultPlan.NONE.withFenceTimeout(TIMEOUT_PROBABILITY).withDmaCompletionDelayMaxSteps(8);

  @Override
  public String name() {
    return Scenarios.FENCE_NEVER_SIGNALS;
  }

  @Override
  public String description() {
    return "fence waits time out (injected); munmap and teardown race the abandoned jobs";
  }

  @Override
  public FaultPlan faults() {
    return FAULTS;
  }

  @Override
  public void run(ScenarioContext ctx) throws ErrnoException {
    Buffer buf = ctx.mapBuffer(PAGES);
    DriverAdapter dev = ctx.adapter();
    ctx.warmUp(dev, buf, true);
    List<JobFence> submitted = Collections.synchronizedList(new ArrayList<>());
    ThreadHandle munmap = ctx.cpu("munmap", () -> ctx.process().munmap(buf.va(0), Buffer.pages(2)));
    ctx.spawn(
        "device",
        () -> {
          ctx.repeatWhileRunning(
              List.of(munmap),
              () -> {
                for (int p = 0; p < PAGES; p++) {
                  submit(ctx, dev, buf, p, submitted)
                      .filter(f -> !f.waitTimeout(USER_TIMEOUT_NANOS))
                      .ifPresent(f -> ctx.note("fence wait timed out: the job is abandoned"));
                }
              });
          for (int p = 0; p < PAGES; p++) {
            submit(ctx, dev, buf, p, submitted);
          }
          dev.teardown(); // with the last jobs in flight
        });
    ctx.joinAll();

    for (JobFence f : List.copyOf(submitted)) {
      ctx.awaitJob(f); // a fence that never signals is a deadlock, reported with every waiter
    }
  }

  private static Optional<JobFence> submit(
      ScenarioContext ctx, DriverAdapter dev, Buffer buf, int page, List<JobFence> submitted) {
    Optional<JobFence> f = ctx.trySubmit(dev, buf.va(page), 1, new long[] {0x7000L + page});
    f.ifPresent(submitted::add);
    return f;
  }
}
