package io.mmulab.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.ErrnoException;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.dev.DeviceMmu;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The fixture of benchmark 4 is correct: after faults, alone or against an mprotect stream, the
 * device maps exactly the CPU's frames with no more permission, the device reads the CPU's values,
 * and the coherency checker is clean. No timing assertions.
 */
class FaultPathTest {
  private static final int FAULTS = 400;
  private static final int INVALIDATIONS = 200;

  @Test
  void faultAlone_mapsTheCpuFrames_neverRetries() throws ErrnoException {
    try (FaultPath path = new FaultPath(FaultPath.DEFAULT_PAGES)) {
      long retries = 0;
      for (int k = 0; k < FAULTS; k++) {
        retries += path.fault(k % path.pages());
      }

      assertThat(retries).isZero();
      assertThat(path.busyWalks()).isZero();
      assertDeviceMirrorsCpu(path);
      path.checker().assertClean();
      assertThat(path.checker().trace()).hasSizeLessThanOrEqualTo(64);
    }
  }

  @Test
  void faultAgainstMprotectStream_mapsTheCpuFrames_checkerClean() throws Exception {
    try (FaultPath path = new FaultPath(FaultPath.DEFAULT_PAGES)) {
      AtomicReference<Throwable> failure = new AtomicReference<>();
      Thread invalidator =
          new Thread(
              () -> {
                try {
                  for (int i = 0; i < INVALIDATIONS; i++) { // even: ends read-write
                    path.toggleProtection();
                  }
                } catch (Throwable t) {
                  failure.set(t);
                }
              },
              "invalidator");
      invalidator.start();
      long faults = 0;
      long retries = 0;
      try {
        // At least FAULTS faults, and faulting for as long as the stream runs.
        while (faults < FAULTS || invalidator.isAlive()) {
          int r = path.fault((int) (faults % path.pages()));
          assertThat(r).isNotNegative();
          retries += r;
          faults++;
        }
      } finally {
        invalidator.join();
      }
      assertThat(failure.get()).isNull();
      assertThat(retries).isGreaterThanOrEqualTo(path.busyWalks()).isNotNegative();
      path.checker().assertClean(); // every map during the stream matched the CPU entry

      // The last fault of each page, after the stream: the device maps the CPU's frame.
      for (int p = 0; p < path.pages(); p++) {
        assertThat(path.fault(p)).isZero();
      }
      assertDeviceMirrorsCpu(path);
      path.checker().assertClean();
      assertThat(path.checker().trace()).hasSizeLessThanOrEqualTo(64);
      System.out.printf(
          "fault path test: %d faults against %d mprotects, %d retries (%d EBUSY walks)%n",
          faults, INVALIDATIONS, retries, path.busyWalks());
    }
  }

  private static void assertDeviceMirrorsCpu(FaultPath path) throws ErrnoException {
    DeviceMmu device = path.device();
    for (int p = 0; p < path.pages(); p++) {
      DeviceMmu.Translation t = device.lookup(path.va(p));
      assertThat(t).as("device entry of page %d", p).isNotNull();
      long cpuPfn = path.cpuPfn(p);
      assertThat(cpuPfn).as("CPU pfn of page %d", p).isNotEqualTo(CoherencyChecker.NO_PFN);
      assertThat(t.pfn()).as("device pfn of page %d", p).isEqualTo(cpuPfn);
      if (t.writable()) {
        assertThat(path.cpuWritable(p)).as("CPU write bit of page %d", p).isTrue();
      }
      assertThat(device.readLong(path.va(p))).as("device read of page %d", p).isEqualTo(100 + p);
      assertThat(path.cpuLoad(p)).isEqualTo(100 + p);
    }
  }
}
