package io.mmulab.api.driver;

/**
 * How coherent a device promises to be with the CPU page table, which decides the rules the
 * coherency checker holds it to. Mirrors the driver models of the architecture (shadow page table,
 * fence wait, registration cache).
 */
public enum CoherencyModel {
  /**
   * The device page table mirrors the CPU's (HMM, ODP): after an intersecting callback returns the
   * device never uses an older translation; every translation it uses matches the CPU page table
   * and its permissions. The default for a device that is never declared.
   */
  SHADOW_PTE,
  /**
   * Jobs run against pages fetched at submission and the callback waits for their fences (i915,
   * amdgpu): held to exactly the same rules as {@link #SHADOW_PTE}, because once the callback
   * returned no job may touch the old pages.
   */
  FENCE_WAIT,
  /**
   * Entries hold page pins and may become incoherent with the address space (hfi1, RDMA
   * registrations): held only to lifetime, use-after-free, isolation, and "no new use of an
   * invalidated entry". An operation already in flight when its entry is invalidated may finish on
   * its pinned pages; an operation that begins afterwards may not use the entry.
   */
  REGISTRATION_CACHE;

  /**
   * Tells whether this model promises coherence with the CPU page table at every access.
   *
   * @return true for {@link #SHADOW_PTE} and {@link #FENCE_WAIT}
   */
  public boolean coherent() {
    return switch (this) {
      case SHADOW_PTE, FENCE_WAIT -> true;
      case REGISTRATION_CACHE -> false;
    };
  }
}
