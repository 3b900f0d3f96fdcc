package io.mmulab.driver.vhost;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.testkit.scenario.Buffer;
import io.mmulab.testkit.scenario.Scenario;
import io.mmulab.testkit.scenario.ScenarioContext;
import java.util.List;

/**
 * A vhost-only scenario (the SPI has no {@code SET_VRING_ADDR} verb, so the library's scenarios
 * cannot move rings): the worker processes the virtqueue round after round while a CPU thread
 * migrates the used ring's pages and the VMM moves the rings to a second buffer. Before the race
 * and after it, with nothing else running, the worker does {@value #ROUNDS} rounds, and the share
 * of its accesses that took the fast path is recorded.
 *
 * <p>Expectation (a liveness one, reported as {@link ViolationKind#LIVELOCK}): once no invalidation
 * is in flight, the worker takes the fast path again.
 */
final class SetVringAddrDuringInvalidation implements Scenario {
  static final int ROUNDS = 8;
  private static final int PAGES = 4;

  /** The fast-path shares of the last run: before the race, after it. */
  volatile double shareBefore;

  volatile double shareAfter;

  /** The legacy count after the last run (-1 on CONSOLIDATED). */
  volatile int countAfter;

  @Override
  public String name() {
    return "set-vring-addr-during-invalidation";
  }

  @Override
  public String description() {
    return "SET_VRING_ADDR moves the rings while an invalidation of the used ring is in flight";
  }

  @Override
  public void run(ScenarioContext ctx) throws ErrnoException {
    Buffer first = ctx.mapBuffer(PAGES);
    Buffer second = ctx.mapBuffer(PAGES);
    VhostAdapter dev = (VhostAdapter) ctx.adapter();
    ctx.warmUp(dev, first, false); // the rings are placed over the first buffer
    shareBefore = share(ctx, dev);

    ThreadHandle migrate =
        ctx.cpu("migrate", () -> ctx.process().migrate(first.va(0), first.va(2), null));
    ThreadHandle vmm =
        ctx.cpu(
            "set-vring-addr",
            () ->
                dev.setVringAddr(
                    new VhostUaddr(second.va(2), second.va(3)),
                    new VhostUaddr(second.va(3), second.va(0) + second.length()),
                    new VhostUaddr(second.va(0), second.va(2))));
    ctx.spawn("worker", () -> ctx.repeatWhileRunning(List.of(migrate, vmm), () -> round(ctx, dev)));
    ctx.joinAll();

    shareAfter = share(ctx, dev);
    countAfter = dev.legacyInvalidateCount();
    ctx.expect(
        ViolationKind.LIVELOCK,
        shareAfter > 0,
        "the worker never takes the fast path again: fast-path share %.2f before, %.2f after,"
            + " invalidate_count %d with no invalidation in flight",
        shareBefore,
        shareAfter,
        countAfter);
  }

  /** The fast-path share of {@value #ROUNDS} rounds. */
  private static double share(ScenarioContext ctx, VhostAdapter dev) {
    long fast = dev.fastPathAccesses();
    long slow = dev.slowPathAccesses();
    for (int i = 0; i < ROUNDS; i++) {
      round(ctx, dev);
    }
    long f = dev.fastPathAccesses() - fast;
    long total = f + dev.slowPathAccesses() - slow;
    return total == 0 ? 0 : (double) f / total;
  }

  /**
   * One round of the worker: read the avail index and a descriptor, complete it in the used ring.
   */
  private static void round(ScenarioContext ctx, VhostAdapter dev) {
    long avail = dev.ringAddress(VhostRing.AVAIL).start();
    long desc = dev.ringAddress(VhostRing.DESC).start();
    long used = dev.ringAddress(VhostRing.USED).start();
    ctx.tryRead(dev, avail);
    ctx.tryRead(dev, desc);
    ctx.tryWrite(dev, used + 8, 1);
    ctx.tryWrite(dev, used, 1);
  }
}
