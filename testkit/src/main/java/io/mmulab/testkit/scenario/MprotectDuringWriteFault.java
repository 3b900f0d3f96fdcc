package io.mmulab.testkit.scenario;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.sim.mm.Mman;
import java.util.List;

/**
 * <b>mprotect downgrade during a write fault.</b> The device write-faults the pages of a 4-page
 * buffer (rounds of a writable prefetch and writes, for as long as the CPU side runs) while a CPU
 * thread makes the whole buffer read-only.
 *
 * <p>Race probed: the write fault looks the page up writable before mprotect's {@code
 * PROTECTION_VMA} invalidation and programs a writable device entry after the callback returned, or
 * the callback leaves writable entries alone because the frame did not change: the device keeps
 * writing memory the CPU may no longer write, {@code PERMISSION}.
 *
 * <p>Verbs: {@code prefetch} (writable), {@code write}, {@code read}. Expectations: once mprotect
 * returned, device writes fail; for a coherent device, device reads agree with CPU loads.
 */
final class MprotectDuringWriteFault implements Scenario {
  private static final int PAGES = 4;

  @Override
  public String name() {
    return Scenarios.MPROTECT_DURING_WRITE_FAULT;
  }

  @Override
  public String description() {
    return "device write faults race an mprotect(PROT_READ) of the buffer";
  }

  @Override
  public void run(ScenarioContext ctx) throws ErrnoException {
    Buffer buf = ctx.mapBuffer(PAGES);
    DriverAdapter dev = ctx.adapter();
    ctx.warmUp(dev, buf, true);
    ThreadHandle mprotect =
        ctx.cpu("mprotect", () -> ctx.process().mprotect(buf.va(0), buf.length(), Mman.PROT_READ));
    ctx.spawn(
        "device",
        () -> {
          long[] value = {0x2000L};
          ctx.repeatWhileRunning(
              List.of(mprotect),
              () -> {
                ctx.tryPrefetch(dev, buf.va(0), buf.length(), true);
                for (int p = 0; p < PAGES; p++) {
                  ctx.tryWrite(dev, buf.va(p), ++value[0]);
                }
              });
        });
    ctx.joinAll();

    for (int p = 0; p < PAGES; p++) {
      ctx.expect(
          ViolationKind.PERMISSION,
          !ctx.tryWrite(dev, buf.va(p), 0xDEADL),
          "device wrote page %d after mprotect(PROT_READ) returned",
          p);
      if (ctx.model().coherent()) {
        long cpu = ctx.process().load(buf.va(p));
        long device = dev.read(buf.va(p), 1)[0];
        ctx.expect(
            ViolationKind.STALE_USE,
            device == cpu,
            "page %d: device read %#x, CPU loads %#x",
            p,
            device,
            cpu);
      }
    }
  }
}
