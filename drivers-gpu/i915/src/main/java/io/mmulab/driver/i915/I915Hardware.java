package io.mmulab.driver.i915;

import io.mmulab.sim.dev.DmaFence;
import io.mmulab.sim.gpu.GpuJob;
import java.util.List;

/**
 * What the userptr protocol code ({@link I915LegacyUserptr}, {@link I915ConsolidatedUserptr}) needs
 * from the GPU, the page allocator and the coherency checker: per object, install pinned pages,
 * bind / unbind them in the ppGTT, drop them, wait for the object's fences; submit a batch; and the
 * checker's events. The protocol itself (locks, tree, notifiers, sequence counts, GUP through the
 * {@link io.mmulab.api.AddressSpace}) stays in the driver classes.
 *
 * <p>{@link I915Device} implements it on the simulated GPU; the Lincheck test implements it with
 * one page of fields, so that the model checker runs the driver's real protocol code.
 */
interface I915Hardware {
  /** Prefix of the driver's lock names. */
  String name();

  /** The checker's device id. */
  String deviceId();

  /** The checker's name of the mm. */
  String mmName();

  /** A new userptr object over the user page at {@code page}, holding no pages. */
  I915Object newObject(long page);

  /** Whether the object holds pages. */
  boolean hasPages(I915Object o);

  /** Installs frames pinned with {@code FOLL_PIN} as the object's pages. */
  void setPages(I915Object o, long[] pfns, boolean writable);

  /** Drops pins taken by GUP and never installed. */
  void unpin(long[] pfns);

  /** Binds the object's pages into the ppGTT at its user address. */
  void bind(I915Object o);

  /** Unbinds the object from the ppGTT (TLB flush included). */
  void unbind(I915Object o);

  /**
   * Drops the object's pages (unpins them).
   *
   * @return how many pages were unpinned (0 if the object held none)
   */
  int releasePages(I915Object o);

  /** Waits, without timeout, for every fence in the object's reservation object. */
  void waitIdle(I915Object o);

  /** Submits {@code job}, its fence entering every object's reservation object before it runs. */
  DmaFence submit(GpuJob job, List<I915Object> objs);

  /** Waits for every job of the VM. */
  void waitVmIdle();

  /** Shuts the engine down and tears the VM down. */
  void shutdown();

  /** Checker: a subscription was inserted. */
  void subscriptionInserted(String subscription, long start, long end);

  /** Checker: a subscription was removed. */
  void subscriptionRemoved(String subscription);

  /** Checker: an invalidate callback was entered. */
  void callbackEntered(String subscription, long start, long end);

  /** Checker: an invalidate callback returned; its bindings of the range count as invalidated. */
  void callbackReturned(String subscription, long start, long end, long seq);
}
