package io.mmulab.sim.vhost;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifier;
import io.mmulab.api.NonblockRefusal;
import io.mmulab.core.MmStruct;

/**
 * Registers a classic notifier written for the 5.3 core (vhost's metadata acceleration): that core
 * calls no {@code invalidate_range_end} after a refused non-blockable start, and such a notifier's
 * end does work (decrements a count). Its address space therefore follows {@link
 * NonblockRefusal#LINUX_5_5}, the same rule before and after the 5.5 series, rather than
 * mainline's, which would call the end of a start that never counted.
 */
public final class Linux53Notifier {
  private Linux53Notifier() {}

  /**
   * Kernel {@code mmu_notifier_register} on a 5.3 kernel.
   *
   * @param mm the address space
   * @param notifier the notifier
   * @throws ErrnoException as {@link AddressSpace#registerNotifier}
   */
  public static void register(AddressSpace mm, MmuNotifier notifier) throws ErrnoException {
    if (mm instanceof MmStruct m) {
      m.setNonblockRefusal(NonblockRefusal.LINUX_5_5);
    }
    mm.registerNotifier(notifier);
  }
}
