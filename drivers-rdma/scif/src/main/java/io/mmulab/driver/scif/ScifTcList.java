package io.mmulab.driver.scif;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The cached temporary windows of one endpoint and address space (kernel {@code tc_reg_list}): a
 * linear list sorted by start address, searched from the front. Not thread-safe: the cache guards
 * it with {@code tc_lock}. Windows may overlap (two copies that missed at once each add theirs).
 */
final class ScifTcList {
  /**
   * What a lookup found.
   *
   * @param hit a window serving the whole request, or null
   * @param start the range to register on a miss (the request, widened over an evicted window)
   * @param end its exclusive end
   * @param evicted the overlapping window the lookup took off the list to make room for a bigger
   *     one, or null; the caller queues it for destruction
   */
  record Lookup(@Nullable ScifWindow hit, long start, long end, @Nullable ScifWindow evicted) {}

  private final List<ScifWindow> windows = new ArrayList<>();

  /**
   * Finds a window for {@code [start, end)} (kernel {@code scif_query_tcw}): the first window that
   * overlaps the request is the only one considered. If it covers the request with the permission
   * asked it is a hit; otherwise it leaves the list, and if its permission suffices the request
   * widens over it, so that the new window replaces it.
   */
  Lookup query(long start, long end, boolean write) {
    for (ScifWindow w : windows) {
      if (w.va >= end) {
        break;
      }
      if (!w.overlaps(start, end)) {
        continue;
      }
      if (w.covers(start, end, write)) {
        return new Lookup(w, start, end, null);
      }
      remove(w);
      return w.writable || !write
          ? new Lookup(null, Math.min(start, w.va), Math.max(end, w.end), w)
          : new Lookup(null, start, end, w);
    }
    return new Lookup(null, start, end, null);
  }

  /** Links {@code w} in start-address order, after the windows that start where it does. */
  void insert(ScifWindow w) {
    int i = windows.size();
    while (i > 0 && windows.get(i - 1).va > w.va) {
      i--;
    }
    windows.add(i, w);
    w.linked = true;
  }

  /** Unlinks {@code w}; false if it was not linked. */
  boolean remove(ScifWindow w) {
    if (!w.linked) {
      return false;
    }
    windows.remove(w);
    w.linked = false;
    return true;
  }

  /** Unlinks every window overlapping {@code [start, end)} (unsigned, {@code -1}: to the top). */
  List<ScifWindow> removeOverlapping(long start, long end) {
    List<ScifWindow> out = new ArrayList<>();
    for (Iterator<ScifWindow> it = windows.iterator(); it.hasNext(); ) {
      ScifWindow w = it.next();
      if (Long.compareUnsigned(w.va, end) >= 0) {
        break;
      }
      if (Long.compareUnsigned(start, w.end) < 0) {
        it.remove();
        w.linked = false;
        out.add(w);
      }
    }
    return out;
  }

  /** Unlinks every window. */
  List<ScifWindow> removeAll() {
    return removeOverlapping(0, -1);
  }

  int size() {
    return windows.size();
  }
}
