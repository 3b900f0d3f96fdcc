package io.mmulab.sim.check;

import static io.mmulab.sim.check.Format.hex;
import static io.mmulab.sim.check.Format.pte;
import static io.mmulab.sim.check.Format.range;

import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.ViolationKind;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

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
 *   <li>The simulated hypervisor ({@code io.mmulab.sim.xen}): {@link #grantMapped}, {@link
 *       #grantUnmapQueued}, {@link #grantUnmapped}.
 * </ul>
 *
 * <h2>Model</h2>
 *
 * <p>Every event gets a number ({@code #n}, increasing) and enters the trace ring ({@code
 * EventLog}). A <em>translation</em> is what {@link #deviceMapped} recorded: device, address space,
 * page, frame, writable, the frame's generation and the event number. A translation replaced or
 * unmapped is kept as <em>retired</em> (a device TLB may still hold it); {@link
 * #invalidateCallbackReturned} marks every live and retired translation of that device in the range
 * as invalidated at that event. Pages are {@value #PAGE_SHIFT}-bit pages; addresses and ranges are
 * unsigned, range ends exclusive. The model lives in {@code Frames}, {@code CpuPageTables} and
 * {@code Devices} (each {@code Device} with its {@code Subscription}s, {@code MmTranslations} and
 * {@code IommuMappings}).
 *
 * <h2>Rules</h2>
 *
 * <p>This class records each event, updates the model and asks the rule families, one class each,
 * in this order (the IOMMU part of the use-after-free rule last; at most one violation per kind per
 * access):
 *
 * <ul>
 *   <li>{@code LifetimeRule} ({@link ViolationKind#LIFETIME}): no event for a torn-down device, no
 *       callback after its subscription's removal, no use of an address no live subscription covers
 *       any more.
 *   <li>{@code UseAfterFreeRule} ({@link ViolationKind#USE_AFTER_FREE}): no access to a freed
 *       frame, nor to a reallocated one through a translation or IOMMU mapping made for an earlier
 *       generation.
 *   <li>{@code StaleUseRule} ({@link ViolationKind#STALE_USE}, coherent models): no use of an
 *       invalidated translation, of a frame the CPU no longer maps there, or of a live translation
 *       the CPU entry moved away from without a callback.
 *   <li>{@code RegistrationCacheRule} ({@link ViolationKind#STALE_USE}, {@link
 *       CoherencyModel#REGISTRATION_CACHE}): the same, judged at the operation's {@link
 *       #beginOperation}: an operation in flight may finish on its pinned pages.
 *   <li>{@code PermissionRule} ({@link ViolationKind#PERMISSION}, coherent models): no device
 *       write, mapping or kept translation with more permission than the CPU entry.
 *   <li>{@code IsolationRule} ({@link ViolationKind#ISOLATION}): a device with an IOMMU domain
 *       reaches only frames mapped in it.
 *   <li>{@code GrantRule} (hypervisor grant mappings, the Xen grant device): no grant left mapped
 *       into a slot of a range whose callback returned, none under a changed CPU entry, a slot
 *       reused only after its asynchronous unmap completed, every grant unmapped exactly once.
 * </ul>
 *
 * <p>Deadlocks and livelocks ({@link ViolationKind#DEADLOCK}, {@link ViolationKind#LIVELOCK}) are
 * not found here: the scheduler of {@link io.mmulab.sim.sched.DeterministicRuntime} ends such a run
 * with a {@link io.mmulab.sim.sched.Outcome} and describes the cycle of waits ({@code
 * Scheduler.describeStall} in {@code io.mmulab.sim.sched}), and testkit's {@code ScenarioRun} turns
 * that outcome into a violation.
 *
 * <p>Inconsistent input from the simulator itself (a page-table change whose old value is not the
 * recorded one, a frame allocated twice) is a bug in the simulator, not a driver race, and throws
 * {@link IllegalStateException}; an empty or inverted range throws {@link
 * IllegalArgumentException}.
 *
 * <h2>Locking</h2>
 *
 * <p>One plain {@link ReentrantLock} guards all state, the rules' and the model's included, and is
 * held across each whole event, so rules see one consistent machine and never lock. It is
 * deliberately not a {@code SyncRuntime} lock: under the deterministic runtime every runtime lock
 * is a scheduling point and reports to the lock rules, and an observer must not add interleavings
 * or lock dependencies to what it observes. It is a leaf lock: held only inside these methods,
 * which call nothing outside this package, so it may be taken under any simulator or driver lock,
 * including spin locks and inside callbacks.
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

  // Held across each whole event (record, model update, every rule); nothing below locks itself.
  private final ReentrantLock lock = new ReentrantLock();

  private final EventLog log;
  private final Frames frames = new Frames();
  private final CpuPageTables cpuPtes = new CpuPageTables();
  private final Devices devices = new Devices();
  private final LifetimeRule lifetime;
  private final UseAfterFreeRule useAfterFree;
  private final StaleUseRule staleUse;
  private final RegistrationCacheRule registrationCache;
  private final PermissionRule permission;
  private final IsolationRule isolation;
  private final GrantRule grants;

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
    this.log = new EventLog(traceLength, maxViolations);
    this.lifetime = new LifetimeRule(log);
    this.useAfterFree = new UseAfterFreeRule(log);
    this.staleUse = new StaleUseRule(log);
    this.registrationCache = new RegistrationCacheRule(log);
    this.permission = new PermissionRule(log);
    this.isolation = new IsolationRule(log);
    this.grants = new GrantRule(log);
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
      long now =
          log.record(() -> "frameAllocated pfn=" + pfn + " gen=" + generation + " owner=" + owner);
      frames.allocated(pfn, generation, owner, now);
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
      long now = log.record(() -> "frameFreed pfn=" + pfn + " gen=" + generation);
      frames.freed(pfn, generation, now);
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
          log.record(
              () ->
                  "cpuPteChanged mm="
                      + mm
                      + " va="
                      + hex(va)
                      + " "
                      + pte(oldPfn, oldWritable)
                      + " -> "
                      + pte(newPfn, newWritable));
      cpuPtes.change(mm, va, oldPfn, newPfn, oldWritable, newWritable, now);
      grants.cpuPteChanged(mm, va, newPfn, newWritable);
      if (oldPfn == NO_PFN) {
        return;
      }
      boolean writable = newPfn != NO_PFN && newWritable;
      long vpn = va >>> PAGE_SHIFT;
      // Only coherent devices promise to drop a translation before the CPU entry leaves its frame.
      for (Device d : devices.all()) {
        if (d.tornDown || !d.model.coherent()) {
          continue;
        }
        Translation held = d.liveUninvalidated(mm, vpn, oldPfn);
        if (held != null) {
          staleUse.checkCpuPteChanged(d, mm, va, held, oldPfn, newPfn, writable);
          permission.checkCpuPteChanged(d, mm, va, held, oldPfn, newPfn, writable);
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
      log.record(
          () ->
              "cpuAccess mm="
                  + mm
                  + " va="
                  + hex(va)
                  + " pfn="
                  + pfn
                  + (write ? " write" : " read"));
      useAfterFree.checkHostAccess(CPU, mm, va, pfn, frames.get(pfn));
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
      log.record(() -> "kernelAccess " + what + " pfn=" + pfn + (write ? " write" : " read"));
      useAfterFree.checkHostAccess(KERNEL, null, NO_VA, pfn, frames.get(pfn));
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
      log.record(() -> "declareDevice " + deviceId + " " + model);
      devices.declare(deviceId, model);
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
      log.record(
          () ->
              "subscriptionInserted "
                  + deviceId
                  + " sub="
                  + subscription
                  + " mm="
                  + mm
                  + " "
                  + range(start, endExclusive));
      Device d = devices.get(deviceId);
      lifetime.checkNotTornDown(d, mm, start, "subscription " + subscription + " inserted");
      d.insertSubscription(subscription, mm, start, endExclusive);
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
  public void subscriptionRemoved(String deviceId, @Nullable String subscription) {
    lock.lock();
    try {
      long now =
          log.record(
              () ->
                  "subscriptionRemoved "
                      + deviceId
                      + " sub="
                      + (subscription == null ? "<all>" : subscription));
      Device d = devices.get(deviceId);
      if (subscription == null) {
        d.removeAllSubscriptions(now);
      } else {
        d.removeSubscription(subscription, now);
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
      String deviceId, @Nullable String subscription, String mm, long start, long endExclusive) {
    lock.lock();
    try {
      log.record(
          () ->
              "callbackEntered "
                  + deviceId
                  + " sub="
                  + subscription
                  + " mm="
                  + mm
                  + " "
                  + range(start, endExclusive));
      lifetime.checkCallback(devices.get(deviceId), subscription, mm, start);
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
      String deviceId,
      @Nullable String subscription,
      String mm,
      long start,
      long endExclusive,
      long seq) {
    Objects.requireNonNull(mm, "mm is null");
    checkRange(start, endExclusive);
    lock.lock();
    try {
      long now =
          log.record(
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
      Device d = devices.get(deviceId);
      lifetime.checkCallback(d, subscription, mm, start);
      d.invalidate(mm, start >>> PAGE_SHIFT, (endExclusive - 1) >>> PAGE_SHIFT, now, subscription);
      grants.callbackReturned(
          deviceId, mm, start >>> PAGE_SHIFT, (endExclusive - 1) >>> PAGE_SHIFT);
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
      String deviceId,
      @Nullable String subscription,
      String mm,
      long va,
      long pfn,
      boolean writable) {
    Objects.requireNonNull(mm, "mm is null");
    lock.lock();
    try {
      long now =
          log.record(
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
      Device d = devices.get(deviceId);
      lifetime.checkUse(d, "maps", mm, va, pfn);
      FrameMirror f = frames.get(pfn);
      useAfterFree.checkMapping(d, mm, va, pfn, f);
      if (d.model.coherent()) {
        CpuPte cpu = cpuPtes.get(mm, va);
        staleUse.checkMapping(d, mm, va, pfn, cpu);
        permission.checkMapping(d, mm, va, pfn, writable, cpu);
      }
      d.map(new Translation(mm, va, pfn, Frames.generationOf(f), writable, now, subscription), now);
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
      long now = log.record(event);
      Device d = devices.get(deviceId);
      lifetime.checkNotTornDown(d, mm, firstVpn << PAGE_SHIFT, "unmaps");
      d.unmap(mm, firstVpn, lastVpn, now);
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
      long now = log.record(() -> "beginOperation " + deviceId);
      lifetime.checkNotTornDown(devices.get(deviceId), null, NO_VA, "begins an operation");
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
      if (operation < NO_OP || operation > log.tick()) {
        throw new IllegalArgumentException(
            "operation "
                + operation
                + " is not a token from beginOperation (last event #"
                + log.tick());
      }
      long now =
          log.record(
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
      Device d = devices.get(deviceId);
      lifetime.checkUse(d, "accesses", mm, va, pfn);
      Translation t = d.lookup(mm, va >>> PAGE_SHIFT, pfn);
      FrameMirror f = frames.get(pfn);
      CpuPte cpu = cpuPtes.get(mm, va);
      boolean useAfterFreeReported = useAfterFree.checkAccess(d, mm, va, pfn, t, f);
      if (d.model.coherent()) {
        staleUse.checkAccess(d, mm, va, pfn, t, cpu, now);
        if (write) {
          permission.checkWrite(d, mm, va, pfn, t, cpu);
        }
      } else {
        registrationCache.checkAccess(d, operation, mm, va, pfn, t, cpu, now);
      }
      isolation.checkAccess(d, mm, va, pfn);
      useAfterFree.checkDomainAccess(d, mm, va, pfn, f, useAfterFreeReported);
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
      long now = log.record(() -> "deviceTornDown " + deviceId);
      Device d = devices.get(deviceId);
      lifetime.checkNotTornDown(d, null, NO_VA, "torn down again");
      grants.deviceTornDown(deviceId);
      d.tearDown(now);
    } finally {
      lock.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Hypervisor grant mappings (reported by io.mmulab.sim.xen.XenHypervisor)

  /**
   * A map hypercall wrote the granted frame {@code pfn} into the PTE slot of {@code va} and the
   * hypervisor now holds that slot under {@code handle}. The slot must hold that frame, be writable
   * if the grant is, and hold no other grant ({@code GrantRule}).
   *
   * @param deviceId the device that asked for the mapping (its callbacks must unmap it)
   * @param mm the address space of the slot
   * @param va an address in the page of the slot
   * @param pfn the granted frame
   * @param writable whether the grant was mapped writable
   * @param handle the hypervisor's handle of the mapping, unique on the machine
   */
  public void grantMapped(
      String deviceId, String mm, long va, long pfn, boolean writable, long handle) {
    Objects.requireNonNull(mm, "mm is null");
    lock.lock();
    try {
      long now =
          log.record(
              () ->
                  "grantMapped "
                      + deviceId
                      + " mm="
                      + mm
                      + " va="
                      + hex(va)
                      + " pfn="
                      + pfn
                      + (writable ? " rw" : " ro")
                      + " handle="
                      + handle);
      grants.mapped(deviceId, mm, va, pfn, writable, handle, cpuPtes.get(mm, va), now);
    } finally {
      lock.unlock();
    }
  }

  /**
   * An asynchronous unmap of the grant was issued: until {@link #grantUnmapped} the slot must not
   * be given another grant, but a returning callback or a change of the CPU entry no longer counts
   * against the mapping.
   *
   * @param handle the mapping's handle
   */
  public void grantUnmapQueued(long handle) {
    lock.lock();
    try {
      log.record(() -> "grantUnmapQueued handle=" + handle);
      grants.unmapQueued(handle);
    } finally {
      lock.unlock();
    }
  }

  /**
   * The unmap hypercall of the grant ran: the hypervisor no longer holds its slot. A handle not
   * mapped (unmapped already, or never) is a {@link ViolationKind#LIFETIME} violation.
   *
   * @param deviceId the device that asked for the unmap
   * @param handle the mapping's handle
   */
  public void grantUnmapped(String deviceId, long handle) {
    lock.lock();
    try {
      log.record(() -> "grantUnmapped " + deviceId + " handle=" + handle);
      grants.unmapped(deviceId, handle);
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
      log.record(() -> "attachDomain " + deviceId);
      Device d = devices.get(deviceId);
      lifetime.checkNotTornDown(d, null, NO_VA, "attaches an IOMMU domain");
      d.attachDomain();
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
      log.record(() -> "domainMap " + deviceId + " pfn=" + pfn);
      Device d = devices.get(deviceId);
      lifetime.checkNotTornDown(d, null, NO_VA, "maps pfn " + pfn + " in its IOMMU domain");
      FrameMirror f = frames.get(pfn);
      useAfterFree.checkDomainMap(d, pfn, f);
      d.attachDomain().map(pfn, Frames.generationOf(f));
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
      log.record(() -> "domainUnmap " + deviceId + " pfn=" + pfn);
      Device d = devices.get(deviceId);
      lifetime.checkNotTornDown(d, null, NO_VA, "unmaps pfn " + pfn + " from its IOMMU domain");
      if (d.domain == null || !d.domain.unmap(pfn)) {
        throw new IllegalStateException(
            "domainUnmap of frame " + pfn + ", which is not mapped in the domain of " + deviceId);
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
      return List.copyOf(log.violations());
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
      return log.violations().stream().filter(v -> v.kind() == kind).toList();
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
      return log.reported();
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
      long reported = log.reported();
      if (reported == 0) {
        return;
      }
      List<Violation> kept = log.violations();
      StringBuilder sb = new StringBuilder();
      sb.append(reported).append(" coherency violation(s)");
      if (reported > kept.size()) {
        sb.append(" (").append(kept.size()).append(" kept)");
      }
      sb.append(':');
      for (Violation v : kept) {
        sb.append('\n').append(v);
      }
      throw new AssertionError(sb.toString());
    } finally {
      lock.unlock();
    }
  }

  /**
   * Hands every later event's text to {@code journal} as well, numbered as in violation traces
   * ({@code "#n event"}); null stops it. For race reports, which replay a run with the checker's
   * events written into the scheduler trace of the thread that caused each ({@link
   * io.mmulab.sim.sched.DeterministicRuntime#journal}). Called with the checker's lock held: the
   * journal must not call back into the checker.
   *
   * @param journal where event texts go, or null
   */
  public void journalTo(Consumer<String> journal) {
    lock.lock();
    try {
      log.journalTo(journal);
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
      return log.renderTrace();
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
      log.reset();
    } finally {
      lock.unlock();
    }
  }

  private static void checkRange(long start, long endExclusive) {
    if (Long.compareUnsigned(start, endExclusive) >= 0) {
      throw new IllegalArgumentException(
          "range start " + hex(start) + " is not below its exclusive end " + hex(endExclusive));
    }
  }
}
