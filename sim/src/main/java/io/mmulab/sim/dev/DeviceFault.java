package io.mmulab.sim.dev;

/**
 * One replayable device page fault: a DMA access at {@link #va()} found no usable translation in
 * {@link #mmu()}. The faulting access waits until the driver resolves the fault: {@link #replay()}
 * (the access retries its translation, and faults again if the entry is still missing) or {@link
 * #cancel()} (the access fails with {@code EFAULT}; kernel: fault cancel / abort).
 */
public final class DeviceFault {
  /** Where a fault is in its life. */
  public enum State {
    /** Raised, not yet resolved. */
    PENDING,
    /** The driver replayed it: the access retries. */
    REPLAYED,
    /** Cancelled by the driver or by closing the queue: the access fails. */
    CANCELLED
  }

  private final FaultQueue queue;
  private final long number;
  private final DeviceMmu mmu;
  private final long va;
  private final boolean write;
  private volatile State state = State.PENDING; // written under queue.lock

  DeviceFault(FaultQueue queue, long number, DeviceMmu mmu, long va, boolean write) {
    this.queue = queue;
    this.number = number;
    this.mmu = mmu;
    this.va = va;
    this.write = write;
  }

  /**
   * Returns the fault's number in its queue (1, 2, 3…).
   *
   * @return the number
   */
  public long number() {
    return number;
  }

  /**
   * Returns the translation context that faulted.
   *
   * @return the device page table
   */
  public DeviceMmu mmu() {
    return mmu;
  }

  /**
   * Returns the id of the device that faulted.
   *
   * @return {@code mmu().deviceId()}
   */
  public String deviceId() {
    return mmu.deviceId();
  }

  /**
   * Returns the faulting address.
   *
   * @return the address the access used
   */
  public long va() {
    return va;
  }

  /**
   * Returns the address of the faulting page.
   *
   * @return {@link #va()} rounded down to its page
   */
  public long pageAddress() {
    return DeviceMmu.pageAddress(va);
  }

  /**
   * Tells whether the access was a write (it needs a writable entry).
   *
   * @return true for a write fault
   */
  public boolean write() {
    return write;
  }

  /**
   * Returns the fault's state.
   *
   * @return pending, replayed or cancelled
   */
  public State state() {
    return state;
  }

  /**
   * Tells whether the fault was replayed or cancelled.
   *
   * @return true once resolved
   */
  public boolean isResolved() {
    return state != State.PENDING;
  }

  /**
   * Lets the faulting access retry its translation (the driver has mapped the page, or thinks so).
   *
   * @return true if this call resolved the fault, false if it was already resolved
   */
  public boolean replay() {
    return queue.resolve(this, State.REPLAYED);
  }

  /**
   * Fails the faulting access with {@code EFAULT}.
   *
   * @return true if this call resolved the fault, false if it was already resolved
   */
  public boolean cancel() {
    return queue.resolve(this, State.CANCELLED);
  }

  /** Sets the state; the caller holds the queue lock and has checked it is pending. */
  void setState(State s) {
    state = s;
  }

  @Override
  public String toString() {
    return "fault #"
        + number
        + " "
        + mmu.deviceId()
        + (write ? " write" : " read")
        + " va=0x"
        + Long.toHexString(va)
        + " "
        + state;
  }
}
