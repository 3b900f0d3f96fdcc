package io.mmulab.driver.nouveau;

/**
 * The GPU page-table hardware an SVM client programs (kernel {@code nvif_vmm} PFNMAP / PFNCLR
 * methods), and where its callbacks and subscriptions are reported. {@link NouveauSvmm} backs it
 * with a {@link io.mmulab.sim.gpu.GpuVm} and the coherency checker; the Lincheck test backs it with
 * one plain entry.
 */
interface NouveauGpuPtes {
  /**
   * Reports a subscription over the whole address space.
   *
   * @param subscription its name
   */
  void subscribed(String subscription);

  /**
   * Reports the subscription removed.
   *
   * @param subscription its name
   */
  void unsubscribed(String subscription);

  /**
   * Clears the GPU PTEs of {@code [start, end)} and flushes the GPU TLB, reporting the callback
   * around it; called with the svmm mutex held, only while the VMM exists.
   *
   * @param subscription the callback's subscription
   * @param start first address
   * @param end exclusive end
   */
  void clear(String subscription, long start, long end);

  /**
   * Writes one GPU PTE; called with the svmm mutex held.
   *
   * @param va the address
   * @param pfn the frame
   * @param writable whether writable
   */
  void write(long va, long pfn, boolean writable);

  /**
   * Destroys the GPU VMM's page tables (kernel {@code nouveau_vmm_fini}): every GPU PTE goes, with
   * no callback reported; called with the svmm mutex held, by fini.
   */
  void destroy();
}
