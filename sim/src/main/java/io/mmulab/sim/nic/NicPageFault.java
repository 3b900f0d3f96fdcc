package io.mmulab.sim.nic;

import io.mmulab.api.ErrnoException;
import io.mmulab.sim.dev.DeviceFault;
import java.util.Objects;

/**
 * An on-demand-paging page fault: the NIC found no usable entry for an access of a work request,
 * and the queue pair stalls until the driver answers {@link #resume()} (the NIC translates again,
 * and faults again if the entry is still missing) or {@link #abort()} (the work request completes
 * in error, {@code EFAULT}).
 */
public final class NicPageFault {
  /** The driver's page-fault handler, run on the NIC's page-fault thread. */
  @FunctionalInterface
  public interface Handler {
    /**
     * Resolves one fault. Returning resumes the queue pair (unless the handler already answered);
     * throwing {@link ErrnoException} aborts the work request.
     *
     * @param fault the fault
     * @throws ErrnoException if the page cannot be made available
     */
    void handle(NicPageFault fault) throws ErrnoException;
  }

  private final NicMemoryRegion mr;
  private final DeviceFault fault;

  NicPageFault(NicMemoryRegion mr, DeviceFault fault) {
    this.mr = Objects.requireNonNull(mr, "mr is null");
    this.fault = Objects.requireNonNull(fault, "fault is null");
  }

  /**
   * Returns the region whose table had no usable entry.
   *
   * @return the region
   */
  public NicMemoryRegion mr() {
    return mr;
  }

  /**
   * Returns the faulting address.
   *
   * @return the address
   */
  public long va() {
    return fault.va();
  }

  /**
   * Returns the page of the faulting address.
   *
   * @return the page-aligned address
   */
  public long pageAddress() {
    return fault.pageAddress();
  }

  /**
   * Tells whether the access was a write.
   *
   * @return true for a write
   */
  public boolean write() {
    return fault.write();
  }

  /**
   * Resumes the queue pair: the access translates again.
   *
   * @return false if the fault was already answered
   */
  public boolean resume() {
    return fault.replay();
  }

  /**
   * Aborts the access: its work request completes with {@code EFAULT}.
   *
   * @return false if the fault was already answered
   */
  public boolean abort() {
    return fault.cancel();
  }

  @Override
  public String toString() {
    return "ODP fault on " + mr + ": " + fault;
  }
}
