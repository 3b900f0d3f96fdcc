package io.mmulab.sim.hfi;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.SyncRuntime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The user-space side of expected receive (the PSM library): it keeps a TID per page of the receive
 * buffers it set up, has senders target those TIDs, and polls the driver's event bit. A TID the
 * driver reports invalidated stays in use (senders were told of it already) until PSM frees it,
 * {@code freeDelay} polls after reading the report, or never ({@link #NEVER}). A packet the chip
 * drops (the driver cleared the TID) makes PSM free that TID at once and set the page up again.
 *
 * <p>Every call polls first. Locking: {@code lock}, PSM's own mutex, serializes its calls; it is
 * held across the driver's ioctls, which never take it.
 */
public final class Psm {
  /** A {@code freeDelay} that never frees an invalidated TID. */
  public static final int NEVER = -1;

  private static final long PAGE = AddressSpace.PAGE_SIZE;
  private static final int MAX_ROUNDS = 16;

  private final HfiUserContext context;
  private final PacketArrival wire;
  private final int freeDelay;
  private final Mutex lock;
  private final Map<Long, Integer> tids = new HashMap<>(); // page -> TID; guarded by lock
  private final Map<Integer, Long> reported = new LinkedHashMap<>(); // TID -> poll; under lock
  private long polls; // guarded by lock

  /**
   * Creates PSM on an open context.
   *
   * @param runtime where the lock comes from
   * @param name names the lock
   * @param context the driver's context
   * @param wire the chip's receive engine, standing for the senders
   * @param freeDelay polls between reading an invalidation and freeing the TID, or {@link #NEVER}
   * @throws IllegalArgumentException if {@code freeDelay} is negative and not {@link #NEVER}
   */
  public Psm(
      SyncRuntime runtime, String name, HfiUserContext context, PacketArrival wire, int freeDelay) {
    if (freeDelay < 0 && freeDelay != NEVER) {
      throw new IllegalArgumentException("PSM free delay " + freeDelay + " is negative");
    }
    this.context = Objects.requireNonNull(context, "context is null");
    this.wire = Objects.requireNonNull(wire, "wire is null");
    this.freeDelay = freeDelay;
    this.lock = runtime.newMutex(name + ".psm");
  }

  /**
   * Sets up TIDs for every page of {@code [va, va + pages * PAGE_SIZE)} PSM has none for.
   *
   * @param va the buffer, page-aligned
   * @param pages its length in pages, at least 1
   * @throws ErrnoException as {@link HfiUserContext#tidUpdate} fails, {@code EBUSY} after
   *     invalidations raced every attempt
   */
  public void post(long va, int pages) throws ErrnoException {
    lock.lock();
    try {
      pollLocked();
      int p = 0;
      while (p < pages) {
        if (tids.containsKey(va + p * PAGE)) {
          p++;
          continue;
        }
        int run = 1;
        while (p + run < pages && !tids.containsKey(va + (p + run) * PAGE)) {
          run++;
        }
        setUpLocked(va + p * PAGE, run);
        p += run;
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Receives {@code payload} at {@code va}: a sender targets the page's TID (set up first if PSM
   * has none) and the chip places the words.
   *
   * @param va the first address, 8-byte aligned
   * @param payload the words, all within {@code va}'s page
   * @throws ErrnoException as the setup fails, {@code EBUSY} if every attempt was dropped
   */
  public void receive(long va, long[] payload) throws ErrnoException {
    long page = va & -PAGE;
    lock.lock();
    try {
      pollLocked();
      for (int round = 0; round < MAX_ROUNDS; round++) {
        Integer tid = tids.get(page);
        if (tid == null) {
          setUpLocked(page, 1);
          tid = tids.get(page);
        }
        if (wire.deliver(
            Objects.requireNonNull(tid, "setUpLocked programs the page's TID"),
            (int) (va - page),
            payload)) {
          return;
        }
        // Dropped: the driver cleared the TID; free it now and set the page up again.
        tids.remove(page);
        reported.remove(tid);
        context.tidFree(new int[] {tid});
      }
      throw new ErrnoException(
          Errno.EBUSY, "PSM: every packet to 0x" + Long.toHexString(va) + " was dropped");
    } finally {
      lock.unlock();
    }
  }

  /** Polls the event bit and frees the invalidated TIDs whose delay has passed. */
  public void poll() {
    lock.lock();
    try {
      pollLocked();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns how many TIDs PSM holds (set up and not freed).
   *
   * @return the count
   */
  public int heldTids() {
    lock.lock();
    try {
      return tids.size();
    } finally {
      lock.unlock();
    }
  }

  /** Frees every TID PSM holds (the context is closing). */
  public void close() {
    lock.lock();
    try {
      context.tidFree(tids.values().stream().mapToInt(Integer::intValue).toArray());
      tids.clear();
      reported.clear();
    } finally {
      lock.unlock();
    }
  }

  private void setUpLocked(long va, int pages) throws ErrnoException {
    for (int round = 1; ; round++) {
      try {
        int[] got = context.tidUpdate(va, pages);
        for (int i = 0; i < got.length; i++) {
          tids.put(va + i * PAGE, got[i]);
        }
        return;
      } catch (ErrnoException e) {
        if (e.errno() != Errno.EBUSY || round == MAX_ROUNDS) {
          throw e;
        }
      }
    }
  }

  private void pollLocked() {
    polls++;
    if (context.tidInvalPending()) {
      for (int tid : context.tidInvalRead()) {
        if (tids.containsValue(tid)) {
          reported.putIfAbsent(tid, polls);
        }
      }
    }
    if (freeDelay == NEVER) {
      return;
    }
    List<Integer> free = new ArrayList<>();
    for (Iterator<Map.Entry<Integer, Long>> it = reported.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<Integer, Long> r = it.next();
      if (polls - r.getValue() >= freeDelay) {
        free.add(r.getKey());
        tids.values().remove(r.getKey());
        it.remove();
      }
    }
    if (!free.isEmpty()) {
      context.tidFree(free.stream().mapToInt(Integer::intValue).toArray());
    }
  }
}
