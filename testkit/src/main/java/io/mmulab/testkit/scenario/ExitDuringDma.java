package io.mmulab.testkit.scenario;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.JobFence;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.api.sync.ThreadHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * <b>Process exit during DMA.</b> The device runs rounds of asynchronous write jobs and reads over
 * a 4-page buffer, for as long as the CPU side runs, while the process exits (its last user
 * reference goes: {@code RELEASE} over the whole address space, then {@code UNMAP}, then the frames
 * are freed). The adapter is torn down only afterwards, as a driver's file is closed after its
 * process died.
 *
 * <p>Race probed: a job or a fault that outlives the release: the device touches frames the exit
 * freed ({@code USE_AFTER_FREE}), keeps translations the release should have dropped ({@code
 * STALE_USE}), or a callback runs on a context already torn down ({@code LIFETIME}); also a
 * teardown that waits forever for a process that is gone (a deadlock).
 *
 * <p>Verbs: {@code submit} (writes) and the fences, {@code read}, {@code teardown} after the exit.
 * Expectations: once the exit returned, device reads fail.
 */
final class ExitDuringDma implements Scenario {
  private static final int PAGES = 4;

  @Override
  public String name() {
    return Scenarios.EXIT_DURING_DMA;
  }

  @Override
  public String description() {
    return "the process exits while device jobs and faults are in flight";
  }

  @Override
  public void run(ScenarioContext ctx) throws ErrnoException {
    Buffer buf = ctx.mapBuffer(PAGES);
    DriverAdapter dev = ctx.adapter();
    ctx.warmUp(dev, buf, false);
    ThreadHandle exit = ctx.cpu("exit", () -> ctx.process().exit());
    ctx.spawn(
        "device",
        () ->
            ctx.repeatWhileRunning(
                List.of(exit),
                () -> {
                  List<Optional<JobFence>> jobs = new ArrayList<>();
                  for (int p = 0; p < PAGES; p++) {
                    jobs.add(ctx.trySubmit(dev, buf.va(p), 1, new long[] {0x5000L + p}));
                  }
                  for (int p = 0; p < PAGES; p++) {
                    ctx.tryRead(dev, buf.va(p));
                  }
                  jobs.forEach(j -> j.ifPresent(ctx::awaitJob));
                }));
    ctx.joinAll();

    for (int p = 0; p < PAGES; p++) {
      ctx.expect(
          ViolationKind.LIFETIME,
          ctx.tryRead(dev, buf.va(p)).isEmpty(),
          "the device read page %d after the process exited (did a fault populate the dying"
              + " address space without holding a user reference, mmget?)",
          p);
    }
    dev.teardown();
  }
}
