package io.mmulab.driver.nouveau;

import io.mmulab.api.ErrnoException;

/**
 * The part of {@link NouveauSvmm} that differs between the variants: how the SVM learns about CPU
 * page-table changes and how a fault window is validated before GPU PTEs are written.
 *
 * <ul>
 *   <li>{@link NouveauLegacyMirror}: v5.4, an {@code hmm_mirror} (a classic notifier owned by the
 *       "hmm core") whose per-fault {@code hmm_range} carries a {@code valid} flag.
 *   <li>{@link NouveauConsolidatedSync}: v5.5, a whole-mm classic notifier that clears GPU PTEs and
 *       a temporary interval notifier per fault window for the collision-retry loop.
 * </ul>
 */
abstract class NouveauSync {
  /** Kernel {@code HMM_RANGE_DEFAULT_TIMEOUT}: 1000 ms. */
  static final long TIMEOUT_NANOS = 1_000_000_000L;

  /** Subscribes to the address space (kernel {@code nouveau_svmm_init}). */
  abstract void open() throws ErrnoException;

  /** Unsubscribes (kernel {@code nouveau_svmm_fini} and what follows it). */
  abstract void close();

  /**
   * Resolves the fault window {@code [start, end)}: looks the pages up and writes GPU PTEs.
   *
   * @param start page-aligned
   * @param end page-aligned, exclusive
   * @param write whether the GPU wants write access
   * @throws ErrnoException {@code EFAULT} for a hole (the fault is cancelled), {@code EBUSY} on
   *     timeout
   */
  abstract void resolve(long start, long end, boolean write) throws ErrnoException;
}
