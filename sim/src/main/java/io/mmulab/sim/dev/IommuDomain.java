package io.mmulab.sim.dev;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.LongSupplier;

/**
 * An IOMMU domain: the set of frames the devices attached to it may reach ({@code iommu_map} /
 * {@code iommu_unmap}, identity-mapped: the device addresses a frame by its pfn). Mappings are
 * counted, so a frame mapped twice stays reachable until unmapped twice. A DMA access by an
 * attached device to a frame outside the domain is blocked: the frame is not touched, the attempt
 * is reported to the checker (which records an {@code ISOLATION} violation) and the access fails
 * with {@link Errno#EFAULT}.
 *
 * <p>Devices attach through {@link DeviceMmu.Builder#iommu}; attaching reports {@code attachDomain}
 * and one {@code domainMap} per current mapping for the new device (made for the frame's current
 * generation). {@link #map} and {@link #unmap} report to every attached device.
 *
 * <p>Locking: {@code lock}, a spin lock, guards the mappings and the attached devices; checker
 * events are reported while it is held. An access checks the domain and touches the frame under the
 * same lock, so an unmap is never overtaken by an access it should have blocked. Lock order: a
 * device's DMA lock, then this lock, then the frame locks of physical memory.
 */
public final class IommuDomain {
  private final String name;
  private final CoherencyChecker checker;
  private final SpinLock lock;

  // Guarded by lock.
  private final TreeMap<Long, Integer> mappings = new TreeMap<>();
  private final List<String> devices = new ArrayList<>();

  /**
   * Creates an empty domain.
   *
   * @param runtime where the lock comes from
   * @param checker told of every attach, map and unmap
   * @param name for traces
   */
  public IommuDomain(SyncRuntime runtime, CoherencyChecker checker, String name) {
    Objects.requireNonNull(runtime, "runtime is null");
    this.checker = Objects.requireNonNull(checker, "checker is null");
    this.name = Objects.requireNonNull(name, "name is null");
    this.lock = runtime.newSpinLock("iommu " + name);
  }

  /**
   * Returns the domain's name.
   *
   * @return the name
   */
  public String name() {
    return name;
  }

  /**
   * Makes {@code pfn} reachable (once more) by the attached devices (kernel {@code iommu_map}).
   *
   * @param pfn the frame, not negative
   */
  public void map(long pfn) {
    if (pfn < 0) {
      throw new IllegalArgumentException("pfn " + pfn + " is negative");
    }
    lock.lock();
    try {
      mappings.merge(pfn, 1, Integer::sum);
      for (String d : devices) {
        checker.domainMap(d, pfn);
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Removes one mapping of {@code pfn} (kernel {@code iommu_unmap}).
   *
   * @param pfn the frame
   * @throws IllegalStateException if the frame is not mapped
   */
  public void unmap(long pfn) {
    lock.lock();
    try {
      Integer n = mappings.get(pfn);
      if (n == null) {
        throw new IllegalStateException("pfn " + pfn + " is not mapped in IOMMU domain " + name);
      }
      if (n == 1) {
        mappings.remove(pfn);
      } else {
        mappings.put(pfn, n - 1);
      }
      for (String d : devices) {
        checker.domainUnmap(d, pfn);
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Tells whether {@code pfn} is mapped.
   *
   * @param pfn the frame
   * @return true if at least one mapping remains
   */
  public boolean isMapped(long pfn) {
    lock.lock();
    try {
      return mappings.containsKey(pfn);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns how many distinct frames are mapped.
   *
   * @return the number of frames
   */
  public int mappedFrames() {
    lock.lock();
    try {
      return mappings.size();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns the ids of the attached devices, in attach order.
   *
   * @return a copy
   */
  public List<String> devices() {
    lock.lock();
    try {
      return List.copyOf(devices);
    } finally {
      lock.unlock();
    }
  }

  /** Attaches a device (already declared to the checker) and replays the mappings for it. */
  void attach(String deviceId) {
    lock.lock();
    try {
      if (devices.contains(deviceId)) {
        throw new IllegalStateException(deviceId + " is already attached to IOMMU domain " + name);
      }
      devices.add(deviceId);
      checker.attachDomain(deviceId);
      for (Map.Entry<Long, Integer> e : mappings.entrySet()) {
        for (int i = 0; i < e.getValue(); i++) {
          checker.domainMap(deviceId, e.getKey());
        }
      }
    } finally {
      lock.unlock();
    }
  }

  /** Detaches a torn-down device: later mappings are not reported for it. */
  void detach(String deviceId) {
    lock.lock();
    try {
      devices.remove(deviceId);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Performs {@code access} if {@code pfn} is mapped; otherwise reports the attempt to the checker
   * and fails. Called by {@link DeviceMmu} with its DMA lock held.
   */
  long access(
      String deviceId,
      long operation,
      String mm,
      long va,
      long pfn,
      boolean write,
      LongSupplier access)
      throws ErrnoException {
    lock.lock();
    try {
      if (mappings.containsKey(pfn)) {
        return access.getAsLong();
      }
      checker.deviceAccess(deviceId, operation, mm, va, pfn, write);
    } finally {
      lock.unlock();
    }
    throw new ErrnoException(
        Errno.EFAULT,
        deviceId
            + ": IOMMU fault, DMA "
            + (write ? "write" : "read")
            + " at va 0x"
            + Long.toHexString(va)
            + " to pfn "
            + pfn
            + ", which is not mapped in domain "
            + name
            + " (blocked)");
  }

  @Override
  public String toString() {
    return "IommuDomain[" + name + "]";
  }
}
