package io.mmulab.driver.nouveau;

import static io.mmulab.api.hmm.HmmPfnLayout.REQ_FAULT;
import static io.mmulab.api.hmm.HmmPfnLayout.REQ_WRITE;
import static io.mmulab.api.hmm.HmmPfnLayout.VALID;
import static io.mmulab.api.hmm.HmmPfnLayout.WRITE;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.hmm.HmmPfnLayout;
import io.mmulab.api.hmm.HmmRange;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.driver.DriverStats;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * The state both variants share (kernel {@code struct nouveau_svmm} minus the hardware): the
 * address space, {@code svmm->mutex} (the update lock), {@code svmm->vmm} (cleared by fini), and
 * the PTE clear/write steps every path uses. The hardware is a {@link NouveauGpuPtes}.
 */
final class NouveauSvmmCore {
  private final SyncRuntime runtime;
  private final AddressSpace mm;
  private final Mutex mutex;
  private final String id;
  private final NouveauGpuPtes ptes;
  private final List<String> callbackLog = Collections.synchronizedList(new ArrayList<>());
  private final DriverStats stats = new DriverStats();

  // Kernel svmm->vmm: cleared under the mutex by fini; callbacks skip the hardware when null.
  private boolean vmmAlive = true; // guarded by mutex
  private volatile Runnable afterLookupHook = () -> {};

  NouveauSvmmCore(SyncRuntime runtime, AddressSpace mm, String id, NouveauGpuPtes ptes) {
    this.runtime = Objects.requireNonNull(runtime, "runtime is null");
    this.mm = Objects.requireNonNull(mm, "mm is null");
    this.id = Objects.requireNonNull(id, "id is null");
    this.ptes = Objects.requireNonNull(ptes, "ptes is null");
    this.mutex = runtime.newMutex(id + ".svmm.mutex");
  }

  SyncRuntime runtime() {
    return runtime;
  }

  AddressSpace mm() {
    return mm;
  }

  Mutex mutex() {
    return mutex;
  }

  String id() {
    return id;
  }

  void subscribed(String subscription) {
    ptes.subscribed(subscription);
  }

  void unsubscribed(String subscription) {
    ptes.unsubscribed(subscription);
  }

  /**
   * Returns, in order, which callbacks ran ({@code "interval"}: the per-fault notifier, {@code
   * "classic"}: the PTE-clearing one).
   *
   * @return a copy of the log
   */
  List<String> callbackLog() {
    synchronized (callbackLog) {
      return List.copyOf(callbackLog);
    }
  }

  /**
   * Returns what the client counted: a fault per window whose GPU PTEs were written, a retry per
   * lookup the variant's check sent round again, an invalidation per callback of either notifier.
   *
   * @return the counters
   */
  DriverStats stats() {
    return stats;
  }

  void logCallback(String what) {
    callbackLog.add(what);
  }

  /** Test hook: runs between the page lookup and taking the mutex in the fault path. */
  void setAfterLookupHook(Runnable hook) {
    this.afterLookupHook = Objects.requireNonNull(hook);
  }

  void afterLookup() {
    runtime.yieldPoint(id + ": fault window looked up, before svmm->mutex");
    afterLookupHook.run();
  }

  /**
   * Kernel {@code nouveau_svmm_invalidate} as both variants' PTE-clearing callback: refuses a
   * non-blockable range outright (the kernel's {@code -EAGAIN}, in both versions, before the
   * mutex), else takes the mutex, runs {@code beforeClear}, clears the GPU PTEs of {@code range}
   * and flushes, unless fini already cleared the VMM.
   *
   * @param subscription the subscription name in checker events
   * @param range the range
   * @param beforeClear run under the mutex before the clear
   * @return false only for a non-blockable range
   */
  boolean clearGpuPtes(String subscription, MmuNotifierRange range, Runnable beforeClear) {
    stats.invalidation();
    if (!range.blockable()) {
      stats.refused();
      return false;
    }
    mutex.lock();
    try {
      beforeClear.run();
      if (vmmAlive) { // svmm->vmm == NULL after fini: no hardware left to touch
        ptes.clear(subscription, range.start(), range.end());
      }
    } finally {
      mutex.unlock();
    }
    return true;
  }

  /**
   * Kernel {@code nouveau_svmm_fini}: under the mutex, the VMM's page tables go and {@code
   * svmm->vmm} is cleared; callbacks that still arrive skip the hardware.
   */
  void fini() {
    mutex.lock();
    try {
      if (vmmAlive) {
        ptes.destroy();
      }
      vmmAlive = false;
    } finally {
      mutex.unlock();
    }
  }

  /**
   * Writes the GPU PTEs of a looked-up range (kernel PFNMAP method); caller holds the mutex.
   *
   * @param range the looked-up range
   */
  void writeGpuPtes(HmmRange range) {
    long[] pfns = range.hmmPfns();
    for (int i = 0; i < pfns.length; i++) {
      long entry = pfns[i];
      if ((entry & VALID) == 0) {
        continue;
      }
      ptes.write(
          range.start() + i * AddressSpace.PAGE_SIZE,
          range.layout().pfn(entry),
          (entry & WRITE) != 0);
    }
    stats.fault();
  }

  /**
   * Builds the {@code hmm_range} of a fault window, tracked by {@code notifier} at {@code seq}.
   *
   * @return the range
   */
  static HmmRange hmmRange(
      MmuIntervalNotifier notifier, long seq, long start, long end, boolean write) {
    int pages = (int) ((end - start) / AddressSpace.PAGE_SIZE);
    return new HmmRange(
        notifier,
        seq,
        start,
        end,
        new long[pages],
        REQ_FAULT | (write ? REQ_WRITE : 0),
        0,
        null,
        HmmPfnLayout.MAINLINE);
  }
}
