package io.mmulab.sim.check;

import static io.mmulab.sim.check.CoherencyChecker.NO_PFN;
import static io.mmulab.sim.check.CoherencyChecker.PAGE_SHIFT;
import static io.mmulab.sim.check.Format.hex;

import io.mmulab.api.driver.ViolationKind;
import java.util.HashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The shadow-PTE rules a hypervisor's grant mappings are held to (the Xen grant device): the
 * hypervisor writes a granted frame into a PTE slot of a process and keeps a reference to that slot
 * until the grant is unmapped, so the driver must unmap it before the slot goes away.
 *
 * <ul>
 *   <li>{@link ViolationKind#STALE_USE}: when an invalidate callback of the mapping device returns,
 *       no grant of that device is still mapped, with no unmap queued, into a slot of the range;
 *       the CPU entry of a slot never changes under a mapped grant with no unmap queued; a map
 *       hypercall installs the frame the slot holds, and never into a slot whose previous grant is
 *       still being unmapped (the slot is reused only once the asynchronous unmap completed).
 *   <li>{@link ViolationKind#PERMISSION}: a grant is mapped writable only into a writable entry,
 *       and an entry does not lose write under a writable grant with no unmap queued.
 *   <li>{@link ViolationKind#LIFETIME}: every grant is unmapped exactly once: an unmap of a handle
 *       that is not mapped, or a grant still mapped (no unmap queued) when its device is torn down.
 * </ul>
 */
final class GrantRule {
  /** One grant mapped into one PTE slot. */
  private static final class Mapping {
    final long handle;
    final String deviceId;
    final String mm;
    final long va;
    final long pfn;
    final boolean writable;
    final long tick;
    boolean unmapQueued;

    Mapping(
        long handle, String deviceId, String mm, long va, long pfn, boolean writable, long tick) {
      this.handle = handle;
      this.deviceId = deviceId;
      this.mm = mm;
      this.va = va;
      this.pfn = pfn;
      this.writable = writable;
      this.tick = tick;
    }

    @Override
    public String toString() {
      return "grant handle "
          + handle
          + " (pfn "
          + pfn
          + (writable ? ", rw" : ", ro")
          + ", #"
          + tick;
    }
  }

  private final EventLog log;
  private final Map<Long, Mapping> byHandle = new HashMap<>();
  // Keyed by device and address space: in the simulation two grant devices may each shadow the
  // same page (each stands for its own mapping of it), so a slot is a device's.
  private final Map<String, Map<Long, Mapping>> bySlot = new HashMap<>();

  GrantRule(EventLog log) {
    this.log = log;
  }

  /** A map hypercall wrote {@code pfn} into the slot of {@code va}; {@code cpu} is its entry. */
  void mapped(
      String deviceId,
      String mm,
      long va,
      long pfn,
      boolean writable,
      long handle,
      @Nullable CpuPte cpu,
      long now) {
    if (byHandle.containsKey(handle)) {
      throw new IllegalStateException("grant handle " + handle + " mapped twice by the hypervisor");
    }
    long vpn = va >>> PAGE_SHIFT;
    Mapping previous = slots(deviceId, mm).get(vpn);
    if (previous != null) {
      log.violation(
          ViolationKind.STALE_USE,
          deviceId,
          mm,
          va,
          pfn,
          "maps a grant into slot "
              + hex(va)
              + " still held by "
              + previous
              + (previous.unmapQueued ? ", whose asynchronous unmap has not completed)" : ")"));
    }
    long cpuPfn = cpu == null ? NO_PFN : cpu.pfn();
    if (cpuPfn != pfn) {
      log.violation(
          ViolationKind.STALE_USE,
          deviceId,
          mm,
          va,
          pfn,
          "the hypervisor installs frame " + pfn + " into a slot whose entry is " + cpuPfn);
    } else if (writable && cpu != null && !cpu.writable()) {
      log.violation(
          ViolationKind.PERMISSION,
          deviceId,
          mm,
          va,
          pfn,
          "maps a writable grant into the read-only slot " + hex(va));
    }
    Mapping m = new Mapping(handle, deviceId, mm, va, pfn, writable, now);
    byHandle.put(handle, m);
    if (previous == null) {
      slots(deviceId, mm).put(vpn, m);
    }
  }

  /** An asynchronous unmap of the handle was issued; it completes with {@link #unmapped}. */
  void unmapQueued(long handle) {
    Mapping m = byHandle.get(handle);
    if (m != null) {
      m.unmapQueued = true;
    }
  }

  /** The unmap hypercall of the handle ran. */
  void unmapped(String deviceId, long handle) {
    Mapping m = byHandle.remove(handle);
    if (m == null) {
      log.violation(
          ViolationKind.LIFETIME,
          deviceId,
          null,
          CoherencyChecker.NO_VA,
          NO_PFN,
          "unmaps grant handle " + handle + ", which is not mapped (every grant is unmapped once)");
      return;
    }
    Map<Long, Mapping> slots = slots(m.deviceId, m.mm);
    if (slots.get(m.va >>> PAGE_SHIFT) == m) {
      slots.remove(m.va >>> PAGE_SHIFT);
    }
  }

  /** An invalidate callback of {@code deviceId} for {@code [first, last]} pages is returning. */
  void callbackReturned(String deviceId, String mm, long firstVpn, long lastVpn) {
    Map<Long, Mapping> slots = bySlot.get(deviceId + " " + mm);
    if (slots == null) {
      return;
    }
    for (Mapping m : slots.values()) {
      long vpn = m.va >>> PAGE_SHIFT;
      if (!m.unmapQueued
          && Long.compareUnsigned(vpn, firstVpn) >= 0
          && Long.compareUnsigned(vpn, lastVpn) <= 0) {
        log.violation(
            ViolationKind.STALE_USE,
            deviceId,
            mm,
            m.va,
            m.pfn,
            "the callback returned with " + m + ") still mapped into slot " + hex(m.va));
      }
    }
  }

  /** The CPU entry of the slot of {@code va} changed. */
  void cpuPteChanged(String mm, long va, long newPfn, boolean newWritable) {
    for (Mapping m : byHandle.values()) {
      if (m.mm.equals(mm) && m.va >>> PAGE_SHIFT == va >>> PAGE_SHIFT && !m.unmapQueued) {
        cpuPteChanged(m, va, newPfn, newWritable);
      }
    }
  }

  private void cpuPteChanged(Mapping m, long va, long newPfn, boolean newWritable) {
    String mm = m.mm;
    if (newPfn != m.pfn) {
      log.violation(
          ViolationKind.STALE_USE,
          m.deviceId,
          mm,
          va,
          m.pfn,
          "the entry of slot " + hex(va) + " changed to " + newPfn + " under " + m + ")");
    } else if (m.writable && !newWritable) {
      log.violation(
          ViolationKind.PERMISSION,
          m.deviceId,
          mm,
          va,
          m.pfn,
          "slot " + hex(va) + " became read-only under writable " + m + ")");
    }
  }

  /** The device is torn down: its grants must be unmapped, or their unmap queued. */
  void deviceTornDown(String deviceId) {
    for (Mapping m : byHandle.values()) {
      if (m.deviceId.equals(deviceId) && !m.unmapQueued) {
        log.violation(
            ViolationKind.LIFETIME,
            deviceId,
            m.mm,
            m.va,
            m.pfn,
            "torn down with " + m + ") still mapped into slot " + hex(m.va));
      }
    }
  }

  private Map<Long, Mapping> slots(String deviceId, String mm) {
    return bySlot.computeIfAbsent(deviceId + " " + mm, k -> new HashMap<>());
  }
}
