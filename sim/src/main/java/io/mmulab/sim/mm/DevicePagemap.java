package io.mmulab.sim.mm;

import io.mmulab.api.ErrnoException;

/**
 * Device memory of one device (kernel {@code struct dev_pagemap} with its {@code dev_pagemap_ops}),
 * of type {@code MEMORY_DEVICE_PRIVATE} unless {@link #isCoherent}. Its pages are ordinary frames
 * of {@link io.mmulab.sim.mem.PhysicalMemory}. Device-private pages are out of the CPU's reach: a
 * CPU page table holds a device-private entry for them, and a CPU access (or GUP, or an {@code
 * hmmRangeFault} of another owner) calls {@link #migrateToRam}. Device-coherent pages ({@code
 * MEMORY_DEVICE_COHERENT}) are mapped by ordinary present entries and accessed directly; only an
 * explicit migration ({@link MigrateVma#SELECT_DEVICE_COHERENT}) or a long-term pin moves them to
 * system memory.
 */
public interface DevicePagemap {
  /**
   * Returns the owner compared, by identity, with {@code MIGRATE} ranges' owners, with {@link
   * MigrateVma} selections and with {@code HmmRange.devPrivateOwner()}.
   *
   * @return the owner, not null
   */
  Object owner();

  /**
   * Tells whether this is device-coherent memory ({@code MEMORY_DEVICE_COHERENT}).
   *
   * @return true for coherent memory; false (the default) for device-private memory
   */
  default boolean isCoherent() {
    return false;
  }

  /**
   * A CPU fault hit a device-private page of this pagemap (kernel {@code migrate_to_ram}); called
   * with the mmap lock held (for read) and no other lock. Must migrate the page back to system
   * memory, normally with {@link MigrateVma} (selecting {@link MigrateVma#SELECT_DEVICE_PRIVATE}
   * with this pagemap's owner, which fires a MIGRATE invalidation carrying that owner). The default
   * does exactly that for the faulting page.
   *
   * @param mm the address space
   * @param addr the faulting page
   * @throws ErrnoException to fail the fault ({@code VM_FAULT_SIGBUS})
   */
  default void migrateToRam(SimMm mm, long addr) throws ErrnoException {
    MigrateVma.migrateToRam(mm, addr, addr + SimMm.PAGE_SIZE, this);
  }

  /**
   * The last reference a simulator path held on one of this pagemap's frames is about to be dropped
   * (kernel {@code page_free}); the frame is freed right after this returns unless somebody else
   * holds a reference.
   *
   * @param pfn the device frame
   */
  default void pageFree(long pfn) {}
}
