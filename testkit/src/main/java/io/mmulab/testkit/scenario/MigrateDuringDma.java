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
 * <b>Migration during DMA.</b> The device runs rounds of asynchronous jobs (one write job per page
 * of a 4-page buffer, submitted back to back, then waited for) for as long as the CPU side runs,
 * while a CPU thread migrates the whole buffer to new frames twice.
 *
 * <p>Race probed: a job set up with the old frames keeps running after migration's {@code MIGRATE}
 * callback returned (the callback zapped translations but did not wait for the job's fence, or the
 * job was built from a lookup made before the window): the write lands in the old frame and is
 * lost, or in a freed one, {@code STALE_USE} / {@code USE_AFTER_FREE}.
 *
 * <p>Verbs: {@code submit} (writes) and the fences. Expectations (coherent devices): afterwards
 * every page holds the value of the last job on it that succeeded.
 */
final class MigrateDuringDma implements Scenario {
  private static final int PAGES = 4;

  @Override
  public String name() {
    return Scenarios.MIGRATE_DURING_DMA;
  }

  @Override
  public String description() {
    return "asynchronous device jobs in flight while the CPU migrates their pages";
  }

  @Override
  public void run(ScenarioContext ctx) throws ErrnoException {
    Buffer buf = ctx.mapBuffer(PAGES);
    DriverAdapter dev = ctx.adapter();
    ctx.warmUp(dev, buf, true);
    long[] last = new long[PAGES];
    for (int p = 0; p < PAGES; p++) {
      last[p] = Buffer.initial(p);
    }
    ThreadHandle migrate =
        ctx.cpu(
            "migrate",
            () -> {
              ctx.process().migrate(buf.va(0), buf.va(PAGES), "migrator");
              ctx.yieldPoint("migrate: between the two migrations");
              ctx.process().migrate(buf.va(0), buf.va(PAGES), "migrator");
            });
    ctx.spawn(
        "device",
        () -> {
          long[] round = {0};
          ctx.repeatWhileRunning(
              List.of(migrate),
              () -> {
                round[0]++;
                List<Optional<JobFence>> jobs = new ArrayList<>();
                for (int p = 0; p < PAGES; p++) {
                  jobs.add(ctx.trySubmit(dev, buf.va(p), 1, new long[] {value(round[0], p)}));
                }
                for (int p = 0; p < PAGES; p++) {
                  if (jobs.get(p).isPresent() && ctx.awaitJob(jobs.get(p).get())) {
                    last[p] = value(round[0], p);
                  }
                }
              });
        });
    ctx.joinAll();

    if (ctx.model().coherent()) {
      for (int p = 0; p < PAGES; p++) {
        long cpu = ctx.process().load(buf.va(p));
        ctx.expect(
            ViolationKind.STALE_USE,
            cpu == last[p],
            "page %d holds %#x, the last job wrote %#x",
            p,
            cpu,
            last[p]);
      }
    }
  }

  private static long value(long round, int page) {
    return 0x4000L + 0x10L * round + page;
  }
}
