package io.mmulab.driver.umemodp;

import io.mmulab.sim.nic.NicMr;
import org.jspecify.annotations.Nullable;

/**
 * A umem's translation table as the umem programs it: a {@link NicMr} of the simulated NIC ({@link
 * #of}), or one entry in the Lincheck test.
 */
interface UmemOdpMtt {
  long start();

  long end();

  /** The checker device whose translations these are. */
  String deviceId();

  /** The checker's name of the notifier covering the entries, or null for any of the device. */
  @Nullable String subscription();

  /** A UMR writing one entry. */
  void umrUpdate(long va, long dmaAddress, boolean writable);

  /** A UMR zapping the entries of {@code [from, to)}, synchronous with later NIC accesses. */
  void umrZap(long from, long to);

  static UmemOdpMtt of(NicMr mr) {
    return new UmemOdpMtt() {
      @Override
      public long start() {
        return mr.start();
      }

      @Override
      public long end() {
        return mr.end();
      }

      @Override
      public String deviceId() {
        return mr.mmu().deviceId();
      }

      @Override
      public @Nullable String subscription() {
        return mr.subscription();
      }

      @Override
      public void umrUpdate(long va, long dmaAddress, boolean writable) {
        mr.umrUpdate(va, dmaAddress, writable);
      }

      @Override
      public void umrZap(long from, long to) {
        mr.umrZap(from, to);
      }

      @Override
      public String toString() {
        return mr.toString();
      }
    };
  }
}
