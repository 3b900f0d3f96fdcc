package io.mmulab.testkit.dmirror;

import io.mmulab.sim.mm.SimMachine;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import org.jspecify.annotations.Nullable;

/**
 * The dmirror module loaded on one simulated machine (kernel {@code hmm_dmirror_init}): devices 0
 * and 1, of memory type device-private, and devices 2 and 3, of memory type device-coherent (the
 * kernel creates those only when special-purpose memory is given to the module; here it always is).
 *
 * <p>One instance per machine ({@link #of}), so that every adapter and test on a machine shares the
 * same devices and their checker ids are unique on that machine and the same in a replay.
 */
public final class DmirrorDevices {
  /** How many devices the module creates. */
  public static final int NDEVICES = 4;

  private static final Map<SimMachine, DmirrorDevices> LOADED =
      Collections.synchronizedMap(new WeakHashMap<>());

  private final List<Dmirror> devices;

  private DmirrorDevices(SimMachine machine) {
    List<Dmirror> all = new ArrayList<>();
    for (int minor = 0; minor < NDEVICES; minor++) {
      int type = minor < 2 ? DmirrorProt.MEMORY_DEVICE_PRIVATE : DmirrorProt.MEMORY_DEVICE_COHERENT;
      all.add(new Dmirror(this, minor, type, machine.runtime(), machine.memory()));
    }
    this.devices = List.copyOf(all);
  }

  /**
   * Returns the module on {@code machine}, loading it on first use.
   *
   * @param machine the machine
   * @return its devices
   */
  public static DmirrorDevices of(SimMachine machine) {
    return LOADED.computeIfAbsent(machine, DmirrorDevices::new);
  }

  /**
   * Returns device {@code minor} ({@code /dev/hmm_dmirror<minor>}).
   *
   * @param minor 0 to 3
   * @return the device
   * @throws IllegalArgumentException for another minor
   */
  public Dmirror device(int minor) {
    if (minor < 0 || minor >= devices.size()) {
      throw new IllegalArgumentException("no /dev/hmm_dmirror" + minor);
    }
    return devices.get(minor);
  }

  /**
   * Returns every device.
   *
   * @return devices 0 to 3
   */
  public List<Dmirror> devices() {
    return devices;
  }

  /** The device whose memory holds {@code pfn}, or null. */
  @Nullable Dmirror ownerOf(long pfn) {
    for (Dmirror d : devices) {
      if (d.owns(pfn)) {
        return d;
      }
    }
    return null;
  }
}
