package io.mmulab.testkit.scenario;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.api.sync.ThreadHandle;
import java.util.List;

/**
 * <b>Insert and remove during an invalidation.</b> A first adapter has faulted in a 4-page buffer
 * (so munmap's window hits its subscription and, in the consolidated core, freezes the tree) when a
 * CPU thread unmaps pages 2–3. Meanwhile an "attach" thread opens a second adapter (whose
 * subscriptions are inserted during the window, so deferred), reads through it, tears it down (a
 * removal during the window, which must wait for it), then opens a third and reads through it; the
 * first adapter keeps reading for as long as the CPU side runs.
 *
 * <p>Race probed: a subscription inserted during an open window must not trust the page table until
 * the window ends ({@code STALE_USE} if it maps page 2 or 3 before munmap changed them); a removal
 * must wait until no callback can run any more ({@code LIFETIME} for a callback after the
 * teardown); a driver structure walked by a callback while an adapter changes it.
 *
 * <p>Verbs: {@code DriverFactory.create}, {@code teardown}, {@code read}, {@code prefetch}.
 * Expectations: reads return initial values; afterwards the first and third adapters read pages 0–1
 * and fail on pages 2–3.
 */
final class InsertRemoveDuringInvalidation implements Scenario {
  private static final int PAGES = 4;
  private static final int MAX_DELAY = 16;

  @Override
  public String name() {
    return Scenarios.INSERT_REMOVE_DURING_INVALIDATION;
  }

  @Override
  public String description() {
    return "adapters are created and torn down while an invalidation is running";
  }

  @Override
  public void run(ScenarioContext ctx) throws ErrnoException {
    Buffer buf = ctx.mapBuffer(PAGES);
    DriverAdapter first = ctx.adapter();
    ctx.warmUp(first, buf, false);
    DriverAdapter[] third = new DriverAdapter[1];
    List<ThreadHandle> cpus =
        List.of(
            ctx.cpu("munmap", MAX_DELAY, () -> ctx.process().munmap(buf.va(2), Buffer.pages(2))),
            ctx.cpu(
                "attach",
                MAX_DELAY,
                () -> {
                  DriverAdapter second = ctx.newAdapter(ctx.process());
                  readAll(ctx, second, buf);
                  second.teardown();
                  third[0] = ctx.newAdapter(ctx.process());
                  readAll(ctx, third[0], buf);
                }));
    ctx.spawn("device", () -> ctx.repeatWhileRunning(cpus, () -> readAll(ctx, first, buf)));
    ctx.joinAll();

    for (DriverAdapter a : List.of(first, third[0])) {
      for (int p = 0; p < PAGES; p++) {
        if (p < 2) {
          long v = a.read(buf.va(p), 1)[0];
          ctx.expect(ViolationKind.STALE_USE, v == Buffer.initial(p), "page %d read %#x", p, v);
        } else {
          ctx.expect(
              ViolationKind.STALE_USE,
              ctx.tryRead(a, buf.va(p)).isEmpty(),
              "unmapped page %d was readable",
              p);
        }
      }
    }
  }

  private static void readAll(ScenarioContext ctx, DriverAdapter a, Buffer buf) {
    for (int p = 0; p < PAGES; p++) {
      int page = p;
      ctx.tryRead(a, buf.va(p))
          .ifPresent(
              v ->
                  ctx.expect(
                      ViolationKind.STALE_USE,
                      v == Buffer.initial(page),
                      "page %d read %#x",
                      page,
                      v));
    }
  }
}
