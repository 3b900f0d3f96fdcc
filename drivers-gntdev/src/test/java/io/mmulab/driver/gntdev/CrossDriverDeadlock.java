package io.mmulab.driver.gntdev;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.driver.radeon.RadeonFactory;
import io.mmulab.testkit.scenario.Buffer;
import io.mmulab.testkit.scenario.Scenario;
import io.mmulab.testkit.scenario.ScenarioContext;

/**
 * <b>Two drivers on one address space: a grant map and a GPU userptr.</b> The driver under test
 * maps the four pages of a buffer; the consolidated radeon driver, on the same process, binds a
 * userptr BO over page 1 (pinning it, a page-in-use reference on a granted frame). A CPU thread
 * munmaps pages 1 and 2 while a GPU thread submits a command on page 2 (a new BO: its registration
 * and validation wait for the running invalidation of the address space to end) and then on page 1,
 * and a user thread reads the buffer through the grants.
 *
 * <p>Race probed (Qubes, fixed by dbe97cff7dd9): a grant-map callback whose unmap waits until the
 * pages are no longer in use, called before the GPU's callback (the interval tree visits the grant
 * map first), waits for a pin only the GPU's callback or the GPU's next submission would drop, and
 * the submission waits for the invalidation: {@code DEADLOCK}. Not in the testkit's library, which
 * cannot see the GPU drivers: it lives with the grant device's tests, which depend on radeon.
 *
 * <p>Expectations: afterwards neither device reads pages 1 and 2, and both read pages 0 and 3.
 */
final class CrossDriverDeadlock implements Scenario {
  /** The scenario's name, the one {@link GntdevFactory#SYNC_UNMAP_DEADLOCK} names. */
  static final String NAME = "cross-driver-deadlock";

  private static final int PAGES = 4;

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String description() {
    return "a GPU holds pins on granted pages and waits for the invalidation that unmaps them";
  }

  @Override
  public void run(ScenarioContext ctx) throws ErrnoException {
    Buffer buf = ctx.mapBuffer(PAGES);
    DriverAdapter grants = ctx.adapter();
    grants.prefetch(buf.va(0), buf.length(), false);
    DriverAdapter gpu =
        new RadeonFactory().create(DriverVariant.CONSOLIDATED, ctx.process(), ctx.machine());
    try {
      gpu.read(buf.va(1), 1); // binds the BO of page 1: its page stays pinned while bound
      ctx.cpu("munmap", () -> ctx.process().munmap(buf.va(1), Buffer.pages(2)));
      ctx.spawn(
          "gpu",
          () -> {
            ctx.tryRead(gpu, buf.va(2));
            ctx.tryRead(gpu, buf.va(1));
          });
      ctx.spawn(
          "user",
          () -> {
            for (int p = 0; p < PAGES; p++) {
              ctx.tryRead(grants, buf.va(p));
            }
          });
      ctx.joinAll();
      for (DriverAdapter dev : new DriverAdapter[] {grants, gpu}) {
        for (int p = 0; p < PAGES; p++) {
          boolean gone = p == 1 || p == 2;
          ctx.expect(
              ViolationKind.STALE_USE,
              ctx.tryRead(dev, buf.va(p)).isPresent() != gone,
              "%s read page %d: %s after munmap",
              dev.driver(),
              p,
              gone ? "still readable" : "unreadable");
        }
      }
    } finally {
      gpu.teardown();
    }
  }
}
