package io.mmulab.testkit.scenario;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.sim.mm.SimProcess;
import java.util.List;

/**
 * <b>fork-COW with a device holding a writable mapping.</b> The device has written both pages of a
 * 2-page buffer (so it holds writable translations) and keeps writing them, for as long as the CPU
 * side runs, while a CPU thread forks the process and then writes page 0 in the parent and page 1
 * in the child, breaking copy-on-write on both sides.
 *
 * <p>Race probed: fork write-protects the parent's pages ({@code PROTECTION_PAGE}); a device that
 * keeps its writable translation writes into a frame now shared with the child ({@code
 * PERMISSION}), and after the parent's copy-on-write break it writes the child's page, not the
 * parent's ({@code STALE_USE}): the classic "GUP vs fork" data corruption.
 *
 * <p>Verbs: {@code write}. Expectations (coherent devices): afterwards a device write reaches the
 * parent and never the child.
 */
final class ForkCowWritable implements Scenario {
  private static final int PAGES = 2;
  private static final long MARKER = 0xD0D0L;

  @Override
  public String name() {
    return Scenarios.FORK_COW_WRITABLE;
  }

  @Override
  public String description() {
    return "fork and copy-on-write breaks while the device writes through writable translations";
  }

  @Override
  public void run(ScenarioContext ctx) throws ErrnoException {
    Buffer buf = ctx.mapBuffer(PAGES);
    DriverAdapter dev = ctx.adapter();
    ctx.warmUp(dev, buf, true); // the device now maps both pages writable
    SimProcess[] child = new SimProcess[1];
    ThreadHandle fork =
        ctx.cpu(
            "fork",
            () -> {
              child[0] = ctx.fork(ctx.process(), "child");
              ctx.process().store(buf.va(0), 0xAAAAL); // copy-on-write break in the parent
              child[0].store(buf.va(1), 0xBBBBL); // and in the child
            });
    ctx.spawn(
        "device",
        () -> {
          long[] value = {0x3000L};
          ctx.repeatWhileRunning(
              List.of(fork),
              () -> {
                for (int p = 0; p < PAGES; p++) {
                  ctx.tryWrite(dev, buf.va(p), ++value[0]);
                }
              });
        });
    ctx.joinAll();

    if (ctx.model().coherent()) {
      for (int p = 0; p < PAGES; p++) {
        dev.write(buf.va(p), new long[] {MARKER + p});
        long parent = ctx.process().load(buf.va(p));
        long inChild = child[0].load(buf.va(p));
        ctx.expect(
            ViolationKind.STALE_USE,
            parent == MARKER + p,
            "device wrote page %d: the parent loads %#x",
            p,
            parent);
        ctx.expect(
            ViolationKind.STALE_USE,
            inChild != MARKER + p,
            "device write to page %d reached the child",
            p);
      }
    }
  }
}
