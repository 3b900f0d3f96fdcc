package io.mmulab.sim.check;

import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.ViolationKind;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * A passive observer of the simulated machine: it is told about every CPU page-table change, every
 * frame allocation and free, every invalidate callback, every device translation and every device
 * access, and records each broken rule as a {@link Violation} with the tail of the event trace. It
 * never changes what the hardware does and never blocks anybody for long.
 *
 * <h2>Who reports what</h2>
 *
 * <ul>
 *   <li>{@code PhysicalMemory}: {@link #frameAllocated}, {@link #frameFreed}, and every access made
 *       through it ({@link #cpuAccess}, {@link #kernelAccess}, {@link #deviceAccess}), while it
 *       holds the frame's lock, so the checker's view of a frame never lags behind the frame.
 *   <li>The address space: {@link #cpuPteChanged} inside the same page-table-lock section as the
 *       change itself (a report after the lock is dropped would let a concurrent page lookup map
 *       the new frame before the checker knows it, a false alarm).
 *   <li>Drivers: {@link #subscriptionInserted}, {@link #subscriptionRemoved}, {@link
 *       #invalidateCallbackEntered}, {@link #invalidateCallbackReturned} (just before the callback
 *       returns, after it zapped and flushed), {@link #deviceTornDown}.
 *   <li>Device parts (device page table, DMA engine, IOMMU domain): {@link #declareDevice}, {@link
 *       #deviceMapped} (in the same critical section that programs the device entry), {@link
 *       #deviceUnmapped}, {@link #beginOperation}, {@link #deviceAccess} (at the access, with the
 *       translation the hardware actually used), {@link #attachDomain}, {@link #domainMap}, {@link
 *       #domainUnmap}.
 * </ul>
 *
 * <h2>Model</h2>
 *
 * <p>Every event gets a number ({@code #n}, increasing). A <em>translation</em> is what {@link
 * #deviceMapped} recorded: device, address space, page, frame, writable, the frame's generation and
 * the event number. A translation replaced or unmapped is kept as <em>retired</em> (a device TLB
 * may still hold it); {@link #invalidateCallbackReturned} marks every live and retired translation
 * of that device in the range as invalidated at that event. Pages are {@value #PAGE_SHIFT}-bit
 * pages; addresses and ranges are unsigned, range ends exclusive.
 *
 * <p>Rules at a {@link #deviceAccess} (one violation per kind at most):
 *
 * <ul>
 *   <li>{@link ViolationKind#LIFETIME}: the device was torn down, or every subscription of the
 *       device that covered the address was removed.
 *   <li>{@link ViolationKind#USE_AFTER_FREE}: the frame is freed, or the translation (or the IOMMU
 *       mapping) was made for an earlier generation of the frame.
 *   <li>{@link ViolationKind#STALE_USE}: the translation was invalidated before the use, or the CPU
 *       page table maps another frame (or none) at that address since before the use. The use is
 *       the access itself, except for a {@link CoherencyModel#REGISTRATION_CACHE} access made for
 *       an operation, where it is the operation's {@link #beginOperation} (an operation in flight
 *       may finish on its pinned pages).
 *   <li>{@link ViolationKind#PERMISSION} (coherent models only): a write through a read-only
 *       translation or at an address whose CPU entry is read-only.
 *   <li>{@link ViolationKind#ISOLATION}: the device has an IOMMU domain and the frame is not in it.
 * </ul>
 *
 * <p>At {@link #deviceMapped} the coherent models must map what the CPU maps, with no more
 * permission; at {@link #cpuPteChanged} no coherent device may still hold a live translation of the
 * old frame that no callback invalidated (the hardware could use it at any moment).
 *
 * <p>Inconsistent input from the simulator itself (a page-table change whose old value is not the
 * recorded one, a frame allocated twice) is a bug in the simulator, not a driver race, and throws
 * {@link IllegalStateException}; an empty or inverted range throws {@link
 * IllegalArgumentException}.
 *
 * <h2>Locking</h2>
 *
 * <p>One plain {@link ReentrantLock} guards all state. It is deliberately not a {@code SyncRuntime}
 * lock: under the deterministic runtime every runtime lock is a scheduling point and reports to the
 * lock rules, and an observer must not add interleavings or lock dependencies to what it observes.
 * It is a leaf lock: held only inside these methods, which call nothing outside this class, so it
 * may be taken under any simulator or driver lock, including spin locks and inside callbacks.
 */
public final class CoherencyChecker {
  /** "No frame": the CPU page-table entry is not present. */
  public static final long NO_PFN = -1L;

  /** "No address", for violations that have none. */
  public static final long NO_VA = -1L;

  /** "No operation": the access is its own use (see {@link #beginOperation}). */
  public static final long NO_OP = 0L;

  /** Trace length used by the no-argument constructor. */
  public static final int DEFAULT_TRACE_LENGTH = 64;

  /** Violations kept by default; later ones are counted but not stored. */
  public static final int DEFAULT_MAX_VIOLATIONS = 1000;

  /** The device id of violations by CPU accesses. */
  public static final String CPU = "cpu";

  /** The device id of violations by kernel-internal accesses (copies, initialisation). */
  public static final String KERNEL = "kernel";

  /** Page size of the model; equal to {@code PhysicalMemory.PAGE_SHIFT} (checked by a test). */
  static final int PAGE_SHIFT = 12;

  private static final long UNKNOWN_GENERATION = -1L;

  private final ReentrantLock lock = new ReentrantLock();
  private final int traceLength;
  private final int maxViolations;

  // All below guarded by lock.
  /** The last events, rendered only when a violation or a caller asks for them. */
  private final ArrayDeque<Event> trace;

  private final List<Violation> violations = new ArrayList<>();
  private long reported;
  private long tick;
  private final Map<Long, FrameMirror> frames = new HashMap<>();
  private final Map<String, Map<Long, CpuPte>> cpuPtes = new HashMap<>();
  private final Map<String, Device> devices = new LinkedHashMap<>();

  /** A checker keeping the last {@value #DEFAULT_TRACE_LENGTH} events. */
  public CoherencyChecker() {
    this(DEFAULT_TRACE_LENGTH, DEFAULT_MAX_VIOLATIONS);
  }

  /**
   * A checker keeping the last {@code traceLength} events and at most {@code maxViolations}
   * violations.
   *
   * @param traceLength events copied into each violation, at least 1
   * @param maxViolations violations stored, at least 1
   */
  public CoherencyChecker(int traceLength, int maxViolations) {
    if (traceLength < 1) {
      throw new IllegalArgumentException("traceLength " + traceLength + " is below 1");
    }
    if (maxViolations < 1) {
      throw new IllegalArgumentException("maxViolations " + maxViolations + " is below 1");
    }
    this.traceLength = traceLength;
    this.maxViolations = maxViolations;
    this.trace = new ArrayDeque<>(traceLength);
  }

  // ---------------------------------------------------------------------------------------------
  // Frames (reported by PhysicalMemory)

  /**
   * A frame was handed out (again): its contents are new and any translation made for an earlier
   * generation is now a use-after-free.
   *
   * @param pfn the frame
   * @param generation its new generation, greater than any earlier one
   * @param owner who allocated it, for messages
   * @throws IllegalStateException if the frame is live or the generation does not increase
   */
  public void frameAllocated(long pfn, long generation, String owner) {
    lock.lock();
    try {
      record(() -> "frameAllocated pfn=" + pfn + " gen=" + generation + " owner=" + owner);
      FrameMirror f = frames.get(pfn);
      if (f != null && !f.freed) {
        throw new IllegalStateException(
            "frame " + pfn + " allocated (gen " + generation + ") while live (gen " + f.generation);
      }
      if (f != null && generation <= f.generation) {
        throw new IllegalStateException(
            "frame " + pfn + " reallocated with gen " + generation + " not above " + f.generation);
      }
      if (f == null) {
        f = new FrameMirror();
        frames.put(pfn, f);
      }
      f.generation = generation;
      f.freed = false;
      f.tick = tick;
      f.owner = owner;
    } finally {
      lock.unlock();
    }
  }

  /**
   * A frame's last reference was dropped: any later access to it is a use-after-free.
   *
   * @param pfn the frame
   * @param generation the generation being freed
   * @throws IllegalStateException if the frame is already freed or the generation is not current
   */
  public void frameFreed(long pfn, long generation) {
    lock.lock();
    try {
      record(() -> "frameFreed pfn=" + pfn + " gen=" + generation);
      FrameMirror f = frames.get(pfn);
      if (f == null) {
        f = new FrameMirror();
        f.generation = generation;
        frames.put(pfn, f);
      } else if (f.freed || f.generation != generation) {
        throw new IllegalStateException(
            "frame "
                + pfn
                + " freed as gen "
                + generation
                + " but it is "
                + (f.freed ? "already freed" : "live")
                + " as gen "
                + f.generation);
      }
      f.freed = true;
      f.tick = tick;
    } finally {
      lock.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // CPU side (reported by the address space and PhysicalMemory)

  /**
   * A CPU page-table entry changed. Report it in the same page-table-lock section as the change.
   * Checks that no coherent device still holds a live, never-invalidated translation of the old
   * frame ({@link ViolationKind#STALE_USE}), or a writable one when the entry loses write ({@link
   * ViolationKind#PERMISSION}).
   *
   * @param mm the address space
   * @param va an address in the page
   * @param oldPfn the frame mapped before, or {@link #NO_PFN}
   * @param newPfn the frame mapped now, or {@link #NO_PFN}
   * @param oldWritable whether the old entry allowed writes
   * @param newWritable whether the new entry allows writes (ignored without a frame)
   * @throws IllegalStateException if the old value is not the one recorded for this page
   */
  public void cpuPteChanged(
      String mm, long va, long oldPfn, long newPfn, boolean oldWritable, boolean newWritable) {
    Objects.requireNonNull(mm, "mm is null");
    lock.lock();
    try {
      long now =
          record(
              () ->
                  "cpuPteChanged mm="
                      + mm
                      + " va="
                      + hex(va)
                      + " "
                      + pte(oldPfn, oldWritable)
                      + " -> "
                      + pte(newPfn, newWritable));
      long vpn = va >>> PAGE_SHIFT;
      Map<Long, CpuPte> ptes = cpuPtes.computeIfAbsent(mm, k -> new HashMap<>());
      CpuPte prev = ptes.get(vpn);
      if (prev != null
          && (prev.pfn != oldPfn || (oldPfn != NO_PFN && prev.writable != oldWritable))) {
        throw new IllegalStateException(
            "cpuPteChanged "
                + mm
                + " va="
                + hex(va)
                + " from "
                + pte(oldPfn, oldWritable)
                + " but the recorded entry is "
                + pte(prev.pfn, prev.writable)
                + " (#"
                + prev.tick
                + ")");
      }
      boolean writable = newPfn != NO_PFN && newWritable;
      ptes.put(vpn, new CpuPte(newPfn, writable, now));
      if (oldPfn == NO_PFN) {
        return;
      }
      for (Device d : devices.values()) {
        if (d.tornDown || !d.model.coherent()) {
          continue;
        }
        PerMm pm = d.mms.get(mm);
        Translation t = pm == null ? null : pm.live.get(vpn);
        if (t == null || t.invalidatedTick != 0 || t.pfn != oldPfn) {
          continue;
        }
        if (newPfn != oldPfn) {
          violation(
              ViolationKind.STALE_USE,
              d.id,
              mm,
              va,
              oldPfn,
              "the device still holds translation "
                  + t
                  + ", never invalidated, while the CPU entry changes to "
                  + pte(newPfn, writable)
                  + " (no invalidate callback reached this device after the translation was made)");
        } else if (t.writable && !writable) {
          violation(
              ViolationKind.PERMISSION,
              d.id,
              mm,
              va,
              oldPfn,
              "the device keeps writable translation "
                  + t
                  + ", never invalidated, while the CPU entry becomes read-only");
        }
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * A CPU load or store through the address space reached a frame. Only the use-after-free rule
   * applies.
   *
   * @param mm the address space
   * @param va the address accessed
   * @param pfn the frame
   * @param write true for a store
   */
  public void cpuAccess(String mm, long va, long pfn, boolean write) {
    lock.lock();
    try {
      record(
          () ->
              "cpuAccess mm="
                  + mm
                  + " va="
                  + hex(va)
                  + " pfn="
                  + pfn
                  + (write ? " write" : " read"));
      checkHostAccess(CPU, mm, va, pfn);
    } finally {
      lock.unlock();
    }
  }

  /**
   * A kernel-internal access (a copy for copy-on-write or migration, initialising a file page)
   * reached a frame. Only the use-after-free rule applies. {@code PhysicalMemory} reports these
   * only when the frame is freed, so that ordinary copies do not flood the trace.
   *
   * @param what what the kernel was doing, for the trace
   * @param pfn the frame
   * @param write true for a write
   */
  public void kernelAccess(String what, long pfn, boolean write) {
    lock.lock();
    try {
      record(() -> "kernelAccess " + what + " pfn=" + pfn + (write ? " write" : " read"));
      checkHostAccess(KERNEL, null, NO_VA, pfn);
    } finally {
      lock.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Devices and subscriptions (reported by drivers and device parts)

  /**
   * Declares how coherent a device is. A device seen before any declaration is {@link
   * CoherencyModel#SHADOW_PTE}; declare others before their first event. Declaring a torn-down id
   * starts a new device with that id.
   *
   * @param deviceId the device (one translation context: a device page table, an MR, a grant map)
   * @param model its coherence model
   * @throws IllegalStateException if the live device was already seen with another model
   */
  public void declareDevice(String deviceId, CoherencyModel model) {
    Objects.requireNonNull(deviceId, "deviceId is null");
    Objects.requireNonNull(model, "model is null");
    lock.lock();
    try {
      record(() -> "declareDevice " + deviceId + " " + model);
      Device d = devices.get(deviceId);
      if (d == null || d.tornDown) {
        devices.put(deviceId, new Device(deviceId, model));
      } else if (d.model != model) {
        throw new IllegalStateException(
            "device " + deviceId + " declared " + model + " but already seen as " + d.model);
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * A subscription of the device now covers {@code [start, endExclusive)} of {@code mm}. Optional:
   * it lets the checker name a callback or access after the subscription's removal.
   *
   * @param deviceId the device
   * @param subscription a name unique within the device
   * @param mm the address space
   * @param start first address (unsigned)
   * @param endExclusive exclusive end (unsigned; {@code -1} is {@code ULONG_MAX})
   */
  public void subscriptionInserted(
      String deviceId, String subscription, String mm, long start, long endExclusive) {
    Objects.requireNonNull(subscription, "subscription is null");
    Objects.requireNonNull(mm, "mm is null");
    checkRange(start, endExclusive);
    lock.lock();
    try {
      record(
          () ->
              "subscriptionInserted "
                  + deviceId
                  + " sub="
                  + subscription
                  + " mm="
                  + mm
                  + " "
                  + range(start, endExclusive));
      Device d = device(deviceId);
      checkNotTornDown(d, mm, start, "subscription " + subscription + " inserted");
      d.subs.put(subscription, new Subscription(subscription, mm, start, endExclusive));
      d.allSubsRemoved = false;
    } finally {
      lock.unlock();
    }
  }

  /**
   * A subscription's {@code remove()} returned: no callback may run for it any more.
   *
   * @param deviceId the device
   * @param subscription the subscription, or null for all of the device's subscriptions
   */
  public void subscriptionRemoved(String deviceId, String subscription) {
    lock.lock();
    try {
      record(
          () ->
              "subscriptionRemoved "
                  + deviceId
                  + " sub="
                  + (subscription == null ? "<all>" : subscription));
      Device d = device(deviceId);
      if (subscription == null) {
        d.allSubsRemoved = true;
        d.allSubsRemovedTick = tick;
        for (Subscription s : d.subs.values()) {
          s.markRemoved(tick);
        }
      } else {
        d.subs
            .computeIfAbsent(subscription, k -> new Subscription(k, null, 0, 0))
            .markRemoved(tick);
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * All of the device's subscriptions were removed; same as {@code subscriptionRemoved(deviceId,
   * null)}.
   *
   * @param deviceId the device
   */
  public void subscriptionRemoved(String deviceId) {
    subscriptionRemoved(deviceId, null);
  }

  /**
   * An invalidate callback of the device began. Only the lifetime rule applies (a callback that
   * touches a removed subscription or a torn-down device may never return).
   *
   * @param deviceId the device
   * @param subscription the subscription called, or null if the driver does not name them
   * @param mm the address space
   * @param start first address of the range (unsigned)
   * @param endExclusive exclusive end (unsigned)
   */
  public void invalidateCallbackEntered(
      String deviceId, String subscription, String mm, long start, long endExclusive) {
    lock.lock();
    try {
      record(
          () ->
              "callbackEntered "
                  + deviceId
                  + " sub="
                  + subscription
                  + " mm="
                  + mm
                  + " "
                  + range(start, endExclusive));
      checkCallbackLifetime(device(deviceId), subscription, mm, start);
    } finally {
      lock.unlock();
    }
  }

  /**
   * An invalidate callback of the device is returning: from now on the device must not use, for any
   * address in {@code [start, endExclusive)} of {@code mm}, a translation obtained before this
   * event. Report it after the callback zapped and flushed, just before it returns.
   *
   * @param deviceId the device
   * @param subscription the subscription called, or null if the driver does not name them
   * @param mm the address space
   * @param start first address of the range (unsigned)
   * @param endExclusive exclusive end (unsigned; {@code -1} is {@code ULONG_MAX})
   * @param seq the {@code curSeq} the callback was given, for the trace
   */
  public void invalidateCallbackReturned(
      String deviceId, String subscription, String mm, long start, long endExclusive, long seq) {
    Objects.requireNonNull(mm, "mm is null");
    checkRange(start, endExclusive);
    lock.lock();
    try {
      long now =
          record(
              () ->
                  "callbackReturned "
                      + deviceId
                      + " sub="
                      + subscription
                      + " mm="
                      + mm
                      + " "
                      + range(start, endExclusive)
                      + " seq="
                      + seq);
      Device d = device(deviceId);
      checkCallbackLifetime(d, subscription, mm, start);
      PerMm pm = d.mms.get(mm);
      if (pm == null) {
        return;
      }
      long first = start >>> PAGE_SHIFT;
      long last = (endExclusive - 1) >>> PAGE_SHIFT;
      for (Translation t : pm.live.subMap(first, true, last, true).values()) {
        t.invalidate(now, subscription);
      }
      for (Map<Long, Translation> byPfn : pm.retired.subMap(first, true, last, true).values()) {
        for (Translation t : byPfn.values()) {
          t.invalidate(now, subscription);
        }
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Same as {@link #invalidateCallbackReturned(String, String, String, long, long, long)} without a
   * subscription name.
   *
   * @param deviceId the device
   * @param mm the address space
   * @param start first address (unsigned)
   * @param endExclusive exclusive end (unsigned)
   * @param seq the {@code curSeq} given to the callback
   */
  public void invalidateCallbackReturned(
      String deviceId, String mm, long start, long endExclusive, long seq) {
    invalidateCallbackReturned(deviceId, null, mm, start, endExclusive, seq);
  }

  /**
   * The device's page table (or registration cache) got an entry {@code va -> pfn}. Report it in
   * the critical section that programs the entry. A coherent device must map the frame the CPU maps
   * there ({@link ViolationKind#STALE_USE} otherwise: the lookup was stale) with no more permission
   * ({@link ViolationKind#PERMISSION}).
   *
   * @param deviceId the device
   * @param mm the address space
   * @param va an address in the page
   * @param pfn the frame
   * @param writable whether the device may write through it
   */
  public void deviceMapped(String deviceId, String mm, long va, long pfn, boolean writable) {
    deviceMapped(deviceId, null, mm, va, pfn, writable);
  }

  /**
   * Like {@link #deviceMapped(String, String, long, long, boolean)}, for a device with one
   * subscription per entry (a registration cache): only the callback of {@code subscription}
   * invalidates the translation. A callback of another subscription of the device over the same
   * page protects the device's other entries there, not this one, which its own callback (run in
   * the same invalidation, before the CPU entry changes) takes care of.
   *
   * @param deviceId the device
   * @param subscription the subscription that protects the entry, or null for any of the device's
   * @param mm the address space
   * @param va an address in the page
   * @param pfn the frame
   * @param writable whether the device may write through it
   */
  public void deviceMapped(
      String deviceId, String subscription, String mm, long va, long pfn, boolean writable) {
    Objects.requireNonNull(mm, "mm is null");
    lock.lock();
    try {
      long now =
          record(
              () ->
                  "deviceMapped "
                      + deviceId
                      + " mm="
                      + mm
                      + " va="
                      + hex(va)
                      + " pfn="
                      + pfn
                      + (writable ? " rw" : " ro"));
      Device d = device(deviceId);
      checkNotTornDown(d, mm, va, "maps va " + hex(va));
      checkCoverage(d, mm, va, pfn);
      FrameMirror f = frames.get(pfn);
      if (f != null && f.freed) {
        violation(
            ViolationKind.USE_AFTER_FREE,
            d.id,
            mm,
            va,
            pfn,
            "maps frame " + pfn + ", freed at #" + f.tick + " (gen " + f.generation + ")");
      }
      if (d.model.coherent()) {
        CpuPte cpu = cpuPte(mm, va);
        if (cpu != null && cpu.pfn != pfn) {
          violation(
              ViolationKind.STALE_USE,
              d.id,
              mm,
              va,
              pfn,
              "maps frame "
                  + pfn
                  + " but the CPU entry is "
                  + pte(cpu.pfn, cpu.writable)
                  + " since #"
                  + cpu.tick
                  + ": the page lookup was stale and the retry check missed it");
        } else if (cpu != null && writable && !cpu.writable) {
          violation(
              ViolationKind.PERMISSION,
              d.id,
              mm,
              va,
              pfn,
              "maps frame " + pfn + " writable but the CPU entry is read-only since #" + cpu.tick);
        }
      }
      long gen = f == null ? UNKNOWN_GENERATION : f.generation;
      Translation t = new Translation(mm, va, pfn, gen, writable, now, subscription);
      PerMm pm = d.mms.computeIfAbsent(mm, k -> new PerMm());
      Translation old = pm.live.put(t.vpn(), t);
      if (old != null) {
        pm.retire(old, now);
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * The device's entry for the page of {@code va} was removed (the device TLB may still hold it
   * until flushed; a later access through it is judged as a retired translation).
   *
   * @param deviceId the device
   * @param mm the address space
   * @param va an address in the page
   */
  public void deviceUnmapped(String deviceId, String mm, long va) {
    long vpn = va >>> PAGE_SHIFT;
    unmap(
        deviceId,
        mm,
        vpn,
        vpn,
        () -> "deviceUnmapped " + deviceId + " mm=" + mm + " va=" + hex(va));
  }

  /**
   * The device's entries for every page of {@code [start, endExclusive)} were removed.
   *
   * @param deviceId the device
   * @param mm the address space
   * @param start first address (unsigned)
   * @param endExclusive exclusive end (unsigned; {@code -1} is {@code ULONG_MAX})
   */
  public void deviceUnmappedRange(String deviceId, String mm, long start, long endExclusive) {
    checkRange(start, endExclusive);
    unmap(
        deviceId,
        mm,
        start >>> PAGE_SHIFT,
        (endExclusive - 1) >>> PAGE_SHIFT,
        () -> "deviceUnmapped " + deviceId + " mm=" + mm + " " + range(start, endExclusive));
  }

  private void unmap(
      String deviceId, String mm, long firstVpn, long lastVpn, Supplier<String> event) {
    Objects.requireNonNull(mm, "mm is null");
    lock.lock();
    try {
      long now = record(event);
      Device d = device(deviceId);
      checkNotTornDown(d, mm, firstVpn << PAGE_SHIFT, "unmaps");
      PerMm pm = d.mms.get(mm);
      if (pm == null) {
        return;
      }
      NavigableMap<Long, Translation> sub = pm.live.subMap(firstVpn, true, lastVpn, true);
      for (Iterator<Translation> it = sub.values().iterator(); it.hasNext(); ) {
        Translation t = it.next();
        it.remove();
        pm.retire(t, now);
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * The device begins an operation (a work request, an SDMA request, a job) that will access memory
   * through its translations. For a {@link CoherencyModel#REGISTRATION_CACHE} device, accesses made
   * with the returned token are judged as of this moment: an entry invalidated after it is in
   * flight and may still be used; one invalidated before it may not. Coherent devices accept the
   * token and judge every access at the access.
   *
   * @param deviceId the device
   * @return the operation token to pass to {@link #deviceAccess(String, long, String, long, long,
   *     boolean)}, greater than {@link #NO_OP}
   */
  public long beginOperation(String deviceId) {
    lock.lock();
    try {
      long now = record(() -> "beginOperation " + deviceId);
      checkNotTornDown(device(deviceId), null, NO_VA, "begins an operation");
      return now;
    } finally {
      lock.unlock();
    }
  }

  /**
   * A DMA read or write by the device at {@code va} of {@code mm}, through a translation to {@code
   * pfn}; all rules of the class comment apply.
   *
   * @param deviceId the device
   * @param operation a token from {@link #beginOperation}, or {@link #NO_OP}
   * @param mm the address space
   * @param va the address accessed
   * @param pfn the frame the hardware reached
   * @param write true for a write
   * @throws IllegalArgumentException if {@code operation} is not a token this checker issued
   */
  public void deviceAccess(
      String deviceId, long operation, String mm, long va, long pfn, boolean write) {
    Objects.requireNonNull(mm, "mm is null");
    lock.lock();
    try {
      if (operation < NO_OP || operation > tick) {
        throw new IllegalArgumentException(
            "operation " + operation + " is not a token from beginOperation (last event #" + tick);
      }
      long now =
          record(
              () ->
                  "deviceAccess "
                      + deviceId
                      + (operation == NO_OP ? "" : " op=#" + operation)
                      + " mm="
                      + mm
                      + " va="
                      + hex(va)
                      + " pfn="
                      + pfn
                      + (write ? " write" : " read"));
      Device d = device(deviceId);
      checkNotTornDown(d, mm, va, "accesses va " + hex(va));
      checkCoverage(d, mm, va, pfn);
      long vpn = va >>> PAGE_SHIFT;
      PerMm pm = d.mms.get(mm);
      Translation t = pm == null ? null : pm.lookup(vpn, pfn);
      FrameMirror f = frames.get(pfn);
      boolean uaf = false;
      if (f != null && f.freed) {
        uaf = true;
        violation(
            ViolationKind.USE_AFTER_FREE,
            d.id,
            mm,
            va,
            pfn,
            "accesses frame " + pfn + ", freed at #" + f.tick + " (gen " + f.generation + ")");
      } else if (f != null
          && t != null
          && t.generation != UNKNOWN_GENERATION
          && t.generation != f.generation) {
        uaf = true;
        violation(
            ViolationKind.USE_AFTER_FREE,
            d.id,
            mm,
            va,
            pfn,
            "accesses frame "
                + pfn
                + " through translation "
                + t
                + " made for gen "
                + t.generation
                + "; the frame was reallocated at #"
                + f.tick
                + " as gen "
                + f.generation
                + " (owner "
                + f.owner
                + ")");
      }
      boolean judgedAtOperation = !d.model.coherent() && operation != NO_OP;
      long use = judgedAtOperation ? operation : now;
      String user = judgedAtOperation ? "an operation begun at #" + operation : "the access";
      CpuPte cpu = cpuPte(mm, va);
      if (t != null && t.invalidatedTick != 0 && t.invalidatedTick < use) {
        violation(
            ViolationKind.STALE_USE,
            d.id,
            mm,
            va,
            pfn,
            d.model.coherent()
                ? "uses translation "
                    + t
                    + ", invalidated by a callback that returned at #"
                    + t.invalidatedTick
                : user
                    + " uses cache entry "
                    + t
                    + ", invalidated at #"
                    + t.invalidatedTick
                    + " (a new use of an invalidated entry)");
      } else if (cpu != null && cpu.pfn != pfn && cpu.tick < use) {
        violation(
            ViolationKind.STALE_USE,
            d.id,
            mm,
            va,
            pfn,
            user
                + " uses frame "
                + pfn
                + (t == null ? " (no recorded translation)" : " via " + t)
                + " but the CPU entry is "
                + pte(cpu.pfn, cpu.writable)
                + " since #"
                + cpu.tick);
      }
      if (write && d.model.coherent()) {
        if (t != null && !t.writable) {
          violation(ViolationKind.PERMISSION, d.id, mm, va, pfn, "writes through read-only " + t);
        } else if (cpu != null && cpu.pfn == pfn && !cpu.writable) {
          violation(
              ViolationKind.PERMISSION,
              d.id,
              mm,
              va,
              pfn,
              "writes frame " + pfn + " but the CPU entry is read-only since #" + cpu.tick);
        }
      }
      if (d.domain != null) {
        Map<Long, Integer> byGen = d.domain.get(pfn);
        if (byGen == null) {
          violation(
              ViolationKind.ISOLATION,
              d.id,
              mm,
              va,
              pfn,
              "accesses frame " + pfn + ", which is not mapped in its IOMMU domain");
        } else if (!uaf
            && f != null
            && !byGen.containsKey(f.generation)
            && !byGen.containsKey(UNKNOWN_GENERATION)) {
          violation(
              ViolationKind.USE_AFTER_FREE,
              d.id,
              mm,
              va,
              pfn,
              "accesses frame "
                  + pfn
                  + " through IOMMU mappings made for gen "
                  + byGen.keySet()
                  + "; the frame was reallocated at #"
                  + f.tick
                  + " as gen "
                  + f.generation);
        }
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Same as {@link #deviceAccess(String, long, String, long, long, boolean)} with {@link #NO_OP}:
   * the access is its own use.
   *
   * @param deviceId the device
   * @param mm the address space
   * @param va the address accessed
   * @param pfn the frame the hardware reached
   * @param write true for a write
   */
  public void deviceAccess(String deviceId, String mm, long va, long pfn, boolean write) {
    deviceAccess(deviceId, NO_OP, mm, va, pfn, write);
  }

  /**
   * The device's context is gone: any later event for it is a {@link ViolationKind#LIFETIME}
   * violation, until a {@link #declareDevice} of the same id starts a new device.
   *
   * @param deviceId the device
   */
  public void deviceTornDown(String deviceId) {
    lock.lock();
    try {
      record(() -> "deviceTornDown " + deviceId);
      Device d = device(deviceId);
      checkNotTornDown(d, null, NO_VA, "torn down again");
      d.tornDown = true;
      d.tornDownTick = tick;
    } finally {
      lock.unlock();
    }
  }

  /**
   * The device is behind an IOMMU: from now on it may reach only frames mapped by {@link
   * #domainMap}. {@link #domainMap} attaches implicitly.
   *
   * @param deviceId the device
   */
  public void attachDomain(String deviceId) {
    lock.lock();
    try {
      record(() -> "attachDomain " + deviceId);
      Device d = device(deviceId);
      checkNotTornDown(d, null, NO_VA, "attaches an IOMMU domain");
      if (d.domain == null) {
        d.domain = new HashMap<>();
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * The frame was mapped in the device's IOMMU domain (once more: mappings are counted). Mapping a
   * freed frame is a {@link ViolationKind#USE_AFTER_FREE}.
   *
   * @param deviceId the device
   * @param pfn the frame
   */
  public void domainMap(String deviceId, long pfn) {
    lock.lock();
    try {
      record(() -> "domainMap " + deviceId + " pfn=" + pfn);
      Device d = device(deviceId);
      checkNotTornDown(d, null, NO_VA, "maps pfn " + pfn + " in its IOMMU domain");
      FrameMirror f = frames.get(pfn);
      if (f != null && f.freed) {
        violation(
            ViolationKind.USE_AFTER_FREE,
            d.id,
            null,
            NO_VA,
            pfn,
            "maps frame " + pfn + " in its IOMMU domain; it was freed at #" + f.tick);
      }
      if (d.domain == null) {
        d.domain = new HashMap<>();
      }
      long gen = f == null ? UNKNOWN_GENERATION : f.generation;
      d.domain.computeIfAbsent(pfn, k -> new TreeMap<>()).merge(gen, 1, Integer::sum);
    } finally {
      lock.unlock();
    }
  }

  /**
   * One IOMMU mapping of the frame was removed (the one made for the oldest generation first).
   *
   * @param deviceId the device
   * @param pfn the frame
   * @throws IllegalStateException if the frame is not mapped in the device's domain
   */
  public void domainUnmap(String deviceId, long pfn) {
    lock.lock();
    try {
      record(() -> "domainUnmap " + deviceId + " pfn=" + pfn);
      Device d = device(deviceId);
      checkNotTornDown(d, null, NO_VA, "unmaps pfn " + pfn + " from its IOMMU domain");
      TreeMap<Long, Integer> byGen = d.domain == null ? null : d.domain.get(pfn);
      if (byGen == null) {
        throw new IllegalStateException(
            "domainUnmap of frame " + pfn + ", which is not mapped in the domain of " + deviceId);
      }
      Map.Entry<Long, Integer> oldest = byGen.firstEntry();
      if (oldest.getValue() == 1) {
        byGen.remove(oldest.getKey());
      } else {
        byGen.put(oldest.getKey(), oldest.getValue() - 1);
      }
      if (byGen.isEmpty()) {
        d.domain.remove(pfn);
      }
    } finally {
      lock.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Queries

  /**
   * Returns the violations recorded since creation or the last {@link #reset}, oldest first.
   *
   * @return a copy
   */
  public List<Violation> violations() {
    lock.lock();
    try {
      return List.copyOf(violations);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns the recorded violations of one kind, oldest first.
   *
   * @param kind the kind
   * @return a copy
   */
  public List<Violation> violations(ViolationKind kind) {
    lock.lock();
    try {
      return violations.stream().filter(v -> v.kind() == kind).toList();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns how many violations were reported, including those beyond the storage limit.
   *
   * @return the count since creation or the last {@link #reset}
   */
  public long violationCount() {
    lock.lock();
    try {
      return reported;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Tells whether no violation was reported.
   *
   * @return true if clean
   */
  public boolean isClean() {
    return violationCount() == 0;
  }

  /**
   * Throws if any violation was reported.
   *
   * @throws AssertionError listing every stored violation with its trace
   */
  public void assertClean() {
    lock.lock();
    try {
      if (reported == 0) {
        return;
      }
      StringBuilder sb = new StringBuilder();
      sb.append(reported).append(" coherency violation(s)");
      if (reported > violations.size()) {
        sb.append(" (").append(violations.size()).append(" kept)");
      }
      sb.append(':');
      for (Violation v : violations) {
        sb.append('\n').append(v);
      }
      throw new AssertionError(sb.toString());
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns the last events seen, oldest first.
   *
   * @return a copy of the trace ring
   */
  public List<String> trace() {
    lock.lock();
    try {
      return renderTrace();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Forgets the reported violations and the trace. The model (frames, CPU entries, devices and
   * their translations) is kept: it describes the machine, which did not change, and forgetting it
   * would hide a later use of an old translation.
   */
  public void reset() {
    lock.lock();
    try {
      violations.clear();
      reported = 0;
      trace.clear();
    } finally {
      lock.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Internals (all called with lock held)

  /** One event of the trace ring; its text is built only if it is ever read. */
  private record Event(long tick, Supplier<String> text) {
    @Override
    public String toString() {
      return "#" + tick + " " + text.get();
    }
  }

  /**
   * Records an event. The text is a supplier because every device access and PTE change is an event
   * while only the few before a violation are ever read.
   */
  private long record(Supplier<String> event) {
    tick++;
    if (trace.size() == traceLength) {
      trace.removeFirst();
    }
    trace.addLast(new Event(tick, event));
    return tick;
  }

  private List<String> renderTrace() {
    List<String> out = new ArrayList<>(trace.size());
    for (Event e : trace) {
      out.add(e.toString());
    }
    return out;
  }

  private void violation(
      ViolationKind kind, String deviceId, String mm, long va, long pfn, String message) {
    reported++;
    if (violations.size() < maxViolations) {
      violations.add(new Violation(kind, deviceId, mm, va, pfn, message, renderTrace()));
    }
  }

  private Device device(String deviceId) {
    Objects.requireNonNull(deviceId, "deviceId is null");
    return devices.computeIfAbsent(deviceId, id -> new Device(id, CoherencyModel.SHADOW_PTE));
  }

  private CpuPte cpuPte(String mm, long va) {
    Map<Long, CpuPte> ptes = cpuPtes.get(mm);
    return ptes == null ? null : ptes.get(va >>> PAGE_SHIFT);
  }

  private void checkHostAccess(String who, String mm, long va, long pfn) {
    FrameMirror f = frames.get(pfn);
    if (f != null && f.freed) {
      violation(
          ViolationKind.USE_AFTER_FREE,
          who,
          mm,
          va,
          pfn,
          "accesses frame " + pfn + ", freed at #" + f.tick + " (gen " + f.generation + ")");
    }
  }

  private void checkNotTornDown(Device d, String mm, long va, String what) {
    if (d.tornDown) {
      violation(
          ViolationKind.LIFETIME,
          d.id,
          mm,
          va,
          NO_PFN,
          what + " after the device was torn down at #" + d.tornDownTick);
    }
  }

  private void checkCallbackLifetime(Device d, String subscription, String mm, long start) {
    checkNotTornDown(d, mm, start, "invalidate callback");
    if (subscription != null) {
      Subscription s = d.subs.get(subscription);
      if (s != null && s.removed) {
        violation(
            ViolationKind.LIFETIME,
            d.id,
            mm,
            start,
            NO_PFN,
            "invalidate callback of subscription "
                + subscription
                + " after its remove() returned at #"
                + s.removedTick);
      }
    } else if (d.allSubsRemoved) {
      violation(
          ViolationKind.LIFETIME,
          d.id,
          mm,
          start,
          NO_PFN,
          "invalidate callback after all subscriptions were removed at #" + d.allSubsRemovedTick);
    }
  }

  /** An address whose covering subscriptions were all removed is no longer protected. */
  private void checkCoverage(Device d, String mm, long va, long pfn) {
    if (d.tornDown) {
      return; // already reported as LIFETIME for this event
    }
    Subscription removedCover = null;
    for (Subscription s : d.subs.values()) {
      if (s.covers(mm, va)) {
        if (!s.removed) {
          return;
        }
        removedCover = s;
      }
    }
    if (removedCover != null) {
      violation(
          ViolationKind.LIFETIME,
          d.id,
          mm,
          va,
          pfn,
          "uses va "
              + hex(va)
              + " after subscription "
              + removedCover.name
              + " covering it was removed at #"
              + removedCover.removedTick
              + " and no live subscription covers it");
    } else if (d.allSubsRemoved) {
      violation(
          ViolationKind.LIFETIME,
          d.id,
          mm,
          va,
          pfn,
          "uses va "
              + hex(va)
              + " after all its subscriptions were removed at #"
              + d.allSubsRemovedTick);
    }
  }

  private static void checkRange(long start, long endExclusive) {
    if (Long.compareUnsigned(start, endExclusive) >= 0) {
      throw new IllegalArgumentException(
          "range start " + hex(start) + " is not below its exclusive end " + hex(endExclusive));
    }
  }

  private static String hex(long v) {
    return "0x" + Long.toHexString(v);
  }

  private static String range(long start, long endExclusive) {
    return "[" + hex(start) + ", " + hex(endExclusive) + ")";
  }

  private static String pte(long pfn, boolean writable) {
    return pfn == NO_PFN ? "none" : "pfn " + pfn + (writable ? " rw" : " ro");
  }

  private static final class FrameMirror {
    long generation;
    boolean freed;
    long tick;
    String owner;
  }

  private record CpuPte(long pfn, boolean writable, long tick) {}

  private static final class Translation {
    final String mm;
    final long va;
    final long pfn;
    final long generation;
    final boolean writable;
    final long mappedTick;

    /**
     * The subscription whose callback alone invalidates it, or null: any callback of the device.
     */
    final String subscription;

    long invalidatedTick;
    long unmappedTick;

    Translation(
        String mm,
        long va,
        long pfn,
        long generation,
        boolean writable,
        long mappedTick,
        String subscription) {
      this.mm = mm;
      this.subscription = subscription;
      this.va = va;
      this.pfn = pfn;
      this.generation = generation;
      this.writable = writable;
      this.mappedTick = mappedTick;
    }

    long vpn() {
      return va >>> PAGE_SHIFT;
    }

    /**
     * Marks it invalidated by a callback of {@code by} (null: unnamed), if that one protects it.
     */
    void invalidate(long now, String by) {
      if (invalidatedTick == 0 && (subscription == null || by == null || subscription.equals(by))) {
        invalidatedTick = now;
      }
    }

    @Override
    public String toString() {
      return hex(vpn() << PAGE_SHIFT)
          + "->pfn "
          + pfn
          + (writable ? " rw" : " ro")
          + " (mapped at #"
          + mappedTick
          + (unmappedTick == 0 ? "" : ", unmapped at #" + unmappedTick)
          + ")";
    }
  }

  private static final class PerMm {
    final TreeMap<Long, Translation> live = new TreeMap<>();

    /** Page -> frame -> the latest retired translation of that page to that frame. */
    final TreeMap<Long, Map<Long, Translation>> retired = new TreeMap<>();

    void retire(Translation t, long now) {
      t.unmappedTick = now;
      retired.computeIfAbsent(t.vpn(), k -> new HashMap<>()).put(t.pfn, t);
    }

    Translation lookup(long vpn, long pfn) {
      Translation t = live.get(vpn);
      if (t != null && t.pfn == pfn) {
        return t;
      }
      Map<Long, Translation> byPfn = retired.get(vpn);
      return byPfn == null ? null : byPfn.get(pfn);
    }
  }

  private static final class Subscription {
    final String name;
    final String mm;
    final long start;
    final long end;
    boolean removed;
    long removedTick;

    Subscription(String name, String mm, long start, long end) {
      this.name = name;
      this.mm = mm;
      this.start = start;
      this.end = end;
    }

    void markRemoved(long now) {
      if (!removed) {
        removed = true;
        removedTick = now;
      }
    }

    boolean covers(String otherMm, long va) {
      return mm != null
          && mm.equals(otherMm)
          && Long.compareUnsigned(start, va) <= 0
          && Long.compareUnsigned(va, end - 1) <= 0;
    }
  }

  private static final class Device {
    final String id;
    final CoherencyModel model;
    boolean tornDown;
    long tornDownTick;
    boolean allSubsRemoved;
    long allSubsRemovedTick;
    final Map<String, Subscription> subs = new LinkedHashMap<>();
    final Map<String, PerMm> mms = new HashMap<>();

    /** Null without an IOMMU; else frame -> generation mapped for -> mapping count. */
    Map<Long, TreeMap<Long, Integer>> domain;

    Device(String id, CoherencyModel model) {
      this.id = id;
      this.model = model;
    }
  }
}
