package io.mmulab.testkit.scenario;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.sim.mm.Mman;
import java.util.List;

/**
 * <b>remap while cached.</b> The device reads every page of a 3-page buffer and writes a word of
 * the middle one, so that a cache holds them, and goes on doing so round after round while a CPU
 * thread, {@value #CYCLES} times, unmaps the middle page, maps fresh memory at the same address
 * ({@code MAP_FIXED}) and stores a new value in it. Afterwards a new device read of the middle page
 * must return the last value stored, and a new device write there must be what the CPU then loads.
 *
 * <p>Race probed: a cached entry (a registration, a pinned page, a TID, a device PTE) made before
 * the munmap serves an operation begun after it, on the old frame: a cache that only tells user
 * space, that keeps an entry in use, or whose insert missed the invalidation ({@code STALE_USE}).
 *
 * <p>Verbs: {@code read}, {@code write}. Expectations: every successful read of the middle page
 * returns the initial value, a value stored by a cycle, or zero (a fresh page not stored yet);
 * after the CPU thread, the new read and write see the last mapping.
 */
final class RemapWhileCached implements Scenario {
  static final int CYCLES = 2;
  private static final int PAGES = 3;
  private static final long DEVICE_WORD = 0x5a5a_0000_0000_0001L;

  @Override
  public String name() {
    return Scenarios.REMAP_WHILE_CACHED;
  }

  @Override
  public String description() {
    return "a cached page is unmapped and mapped again at the same address; new operations follow";
  }

  /** The value cycle {@code c} stores in the remapped page. */
  static long generation(int c) {
    return 0x6e65_7700_0000_0000L | c;
  }

  @Override
  public void run(ScenarioContext ctx) throws ErrnoException {
    Buffer buf = ctx.mapBuffer(PAGES);
    DriverAdapter dev = ctx.adapter();
    ctx.warmUp(dev, buf, false);
    dev.write(buf.va(1) + 8, new long[] {DEVICE_WORD});
    ThreadHandle cpu = ctx.cpu("remap", () -> remap(ctx, buf));
    ctx.spawn(
        "device",
        () ->
            ctx.repeatWhileRunning(
                List.of(cpu),
                () -> {
                  for (int p = 0; p < PAGES; p++) {
                    int page = p;
                    ctx.tryRead(dev, buf.va(p)).ifPresent(v -> expectKnown(ctx, page, v));
                  }
                  ctx.tryWrite(dev, buf.va(1) + 8, DEVICE_WORD);
                }));
    ctx.joinAll();

    long v = dev.read(buf.va(1), 1)[0];
    ctx.expect(
        ViolationKind.STALE_USE,
        v == generation(CYCLES),
        "a read after the last remap returned %#x, not %#x",
        v,
        generation(CYCLES));
    dev.write(buf.va(1) + 8, new long[] {DEVICE_WORD + 1});
    long seen = ctx.process().load(buf.va(1) + 8);
    ctx.expect(
        ViolationKind.STALE_USE,
        seen == DEVICE_WORD + 1,
        "a device write after the last remap left %#x where the CPU looks",
        seen);
  }

  private static void remap(ScenarioContext ctx, Buffer buf) throws ErrnoException {
    for (int c = 1; c <= CYCLES; c++) {
      ctx.process().munmap(buf.va(1), Buffer.pages(1));
      ctx.process()
          .mmap(
              buf.va(1),
              Buffer.pages(1),
              Mman.PROT_READ | Mman.PROT_WRITE,
              Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | Mman.MAP_FIXED);
      ctx.process().store(buf.va(1), generation(c));
    }
  }

  private static void expectKnown(ScenarioContext ctx, int page, long v) {
    boolean known = v == Buffer.initial(page);
    for (int c = 1; page == 1 && c <= CYCLES && !known; c++) {
      known = v == generation(c);
    }
    ctx.expect(
        ViolationKind.STALE_USE, known || (page == 1 && v == 0), "page %d read %#x", page, v);
  }
}
