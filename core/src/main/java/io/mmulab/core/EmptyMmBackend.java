package io.mmulab.core;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.hmm.HmmPfnLayout;
import io.mmulab.api.hmm.HmmRange;

/**
 * An address space without a single mapping: every address is a hole. GUP fails with {@code
 * EFAULT}; {@code hmmRangeFault} fails with {@code EFAULT} if any page requests a fault and
 * otherwise reports every page as {@code ERROR} (hmmRangeFault's "no VMA" rule, docs/notifier.md).
 * Exit only sends the RELEASE invalidation.
 */
public final class EmptyMmBackend implements MmBackend {
  private final MmStruct mm;

  /**
   * Creates the backend of {@code mm}.
   *
   * @param mm the address space it belongs to
   */
  public EmptyMmBackend(MmStruct mm) {
    this.mm = mm;
  }

  @Override
  public int getUserPages(long start, int nrPages, int gupFlags, long[] pfns)
      throws ErrnoException {
    throw new ErrnoException(
        Errno.EFAULT, "no mapping at 0x" + Long.toHexString(start) + " in " + mm.name());
  }

  @Override
  public void hmmRangeFault(HmmRange range) throws ErrnoException {
    if (range.notifier().checkRetry(range.notifierSeq())) {
      throw new ErrnoException(
          Errno.EBUSY, "invalidation collided before the walk of " + mm.name());
    }
    long[] pfns = range.hmmPfns();
    for (int i = 0; i < pfns.length; i++) {
      if ((range.request(i) & HmmPfnLayout.REQ_FAULT) != 0) {
        throw new ErrnoException(
            Errno.EFAULT,
            "fault requested at 0x"
                + Long.toHexString(range.start() + ((long) i << MmStruct.PAGE_SHIFT))
                + ", which no mapping covers in "
                + mm.name());
      }
    }
    long sticky = range.layout().stickyMask();
    for (int i = 0; i < pfns.length; i++) {
      pfns[i] = (pfns[i] & sticky) | HmmPfnLayout.ERROR;
    }
  }

  @Override
  public void exitMmap() {
    mm.mmuNotifierRelease();
  }
}
