package io.mmulab.api;

/**
 * How {@link AddressSpace#getNotifier} makes and frees a shared classic notifier (kernel {@code
 * mmu_notifier_ops.alloc_notifier} and {@code free_notifier}). The factory object is the identity:
 * one address space holds at most one notifier per factory, shared by every {@code getNotifier}
 * caller and freed after the last {@link AddressSpace#putNotifier} and a grace period.
 *
 * @param <T> the driver's notifier type
 */
public interface MmuNotifierFactory<T extends MmuNotifier> {
  /**
   * Makes the notifier of {@code mm}; called with the mmap lock held for write.
   *
   * @param mm the address space
   * @return a new notifier
   * @throws ErrnoException to fail {@code getNotifier}, for example with {@link Errno#ENOMEM}
   */
  T allocNotifier(AddressSpace mm) throws ErrnoException;

  /**
   * Frees a notifier after its last put, once no callback of it can be running. Must not sleep.
   *
   * @param notifier the notifier this factory allocated
   */
  void freeNotifier(T notifier);
}
