package io.mmulab.sim.mm;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.sim.mem.PhysicalMemory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A file of the simulated machine: a backing store ("the disk") and its page cache. Shared mappings
 * of the file map page-cache pages; private mappings map them read-only and copy on write. Shared
 * anonymous memory is an anonymous file of this kind (shmem), dropped with its last mapping.
 *
 * <p>Locking: the store, the cache and the mapping count are guarded by the machine's page lock (a
 * spin lock). The cache holds one reference on each cached frame; a caller of {@link #getPage} gets
 * one more.
 */
public final class SimFile {
  private final String name;
  private volatile long pages;
  private final boolean anonymous;
  private final PhysicalMemory memory;
  private final SpinLock lock;
  private final Map<Long, byte[]> store = new HashMap<>();
  private final Map<Long, Cached> cache = new HashMap<>();
  private int mappings;

  SimFile(String name, long pages, boolean anonymous, PhysicalMemory memory, SpinLock lock) {
    this.name = Objects.requireNonNull(name, "name is null");
    this.pages = pages;
    this.anonymous = anonymous;
    this.memory = memory;
    this.lock = lock;
  }

  /** A page in the cache; fields guarded by the page lock. */
  private static final class Cached {
    final long pfn;
    boolean dirty;

    Cached(long pfn) {
      this.pfn = pfn;
    }
  }

  /**
   * Returns the file's name.
   *
   * @return the name
   */
  public String name() {
    return name;
  }

  /**
   * Returns the size in pages; faults past it fail ({@code SIGBUS}).
   *
   * @return the number of pages
   */
  public long pages() {
    return pages;
  }

  /**
   * Reads a word of the file as {@code pread} would: from the page cache if the page is cached,
   * else from the store.
   *
   * @param offset byte offset, 8-byte aligned, below the size
   * @return the word
   */
  public long readLong(long offset) {
    long index = checkOffset(offset);
    int inPage = (int) (offset & (PhysicalMemory.PAGE_SIZE - 1));
    lock.lock();
    try {
      Cached c = cache.get(index);
      if (c != null) {
        return memory.readLong(c.pfn, inPage);
      }
      byte[] data = store.get(index);
      long v = 0;
      if (data != null) {
        for (int i = 7; i >= 0; i--) {
          v = (v << 8) | (data[inPage + i] & 0xff);
        }
      }
      return v;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Writes a word of the file as {@code pwrite} would: into the cached page (marking it dirty), or
   * into the store.
   *
   * @param offset byte offset, 8-byte aligned, below the size
   * @param value the word
   */
  public void writeLong(long offset, long value) {
    long index = checkOffset(offset);
    int inPage = (int) (offset & (PhysicalMemory.PAGE_SIZE - 1));
    lock.lock();
    try {
      Cached c = cache.get(index);
      if (c != null) {
        memory.writeLong(c.pfn, inPage, value);
        c.dirty = true;
        return;
      }
      byte[] old = store.get(index);
      byte[] data = old == null ? new byte[PhysicalMemory.PAGE_SIZE] : old.clone();
      for (int i = 0; i < 8; i++) {
        data[inPage + i] = (byte) (value >>> (8 * i));
      }
      store.put(index, data);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Tells whether page {@code index} is in the page cache.
   *
   * @param index page index
   * @return true if cached
   */
  public boolean isCached(long index) {
    lock.lock();
    try {
      return cache.containsKey(index);
    } finally {
      lock.unlock();
    }
  }

  @Override
  public String toString() {
    return name;
  }

  // ---------------------------------------------------------------------------------------------
  // Page cache, for the address spaces

  boolean isAnonymous() {
    return anonymous;
  }

  /** Returns the cached page {@code index} with one reference for the caller, reading it in. */
  long getPage(long index) throws ErrnoException {
    if (index < 0 || index >= pages) {
      throw new ErrnoException(
          Errno.EFAULT, "SIGBUS: page " + index + " is past the end of " + name);
    }
    while (true) {
      byte[] data;
      lock.lock();
      try {
        Cached c = cache.get(index);
        if (c != null) {
          memory.get(c.pfn);
          return c.pfn;
        }
        data = store.get(index);
      } finally {
        lock.unlock();
      }
      long pfn = memory.alloc(name + "[" + index + "]");
      if (data != null) {
        memory.writeBytes(pfn, 0, data, 0, data.length);
      }
      lock.lock();
      try {
        Cached c = cache.get(index);
        if (c == null && store.get(index) == data) {
          cache.put(index, new Cached(pfn));
          memory.get(pfn);
          return pfn;
        }
        memory.put(pfn);
        if (c != null) {
          memory.get(c.pfn);
          return c.pfn;
        }
      } finally {
        lock.unlock();
      }
    }
  }

  /** A dirty entry mapping page {@code index} went away: the page must be written back. */
  void markDirty(long index) {
    lock.lock();
    try {
      Cached c = cache.get(index);
      if (c != null) {
        c.dirty = true;
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Drops page {@code index} from the cache if it is {@code pfn} and only the cache references it,
   * writing it back first if dirty (reclaim).
   *
   * @return true if the frame was freed
   */
  boolean evict(long index, long pfn) {
    lock.lock();
    try {
      Cached c = cache.get(index);
      if (c == null || c.pfn != pfn || memory.refcount(pfn) != 1) {
        return false;
      }
      if (c.dirty) {
        byte[] data = new byte[PhysicalMemory.PAGE_SIZE];
        memory.readBytes(pfn, 0, data, 0, data.length);
        store.put(index, data);
      }
      cache.remove(index);
    } finally {
      lock.unlock();
    }
    memory.put(pfn);
    return true;
  }

  /**
   * Drops the cached and stored pages from {@code newPages} on (kernel {@code
   * truncate_inode_pages}); the caller set the size and zapped the mappings first.
   */
  void dropPagesFrom(long newPages) {
    List<Long> drop = new ArrayList<>();
    lock.lock();
    try {
      cache
          .entrySet()
          .removeIf(
              e -> {
                if (e.getKey() >= newPages) {
                  drop.add(e.getValue().pfn);
                  return true;
                }
                return false;
              });
      store.keySet().removeIf(i -> i >= newPages);
    } finally {
      lock.unlock();
    }
    for (long pfn : drop) {
      memory.put(pfn);
    }
  }

  /** Sets the size; faults past it fail ({@code SIGBUS}). */
  void setSize(long newPages) {
    lock.lock();
    try {
      pages = newPages;
    } finally {
      lock.unlock();
    }
  }

  /** A VMA now maps the file. */
  void mapped() {
    lock.lock();
    try {
      mappings++;
    } finally {
      lock.unlock();
    }
  }

  /** A VMA stopped mapping the file; shared anonymous memory goes with its last mapping. */
  void unmapped() {
    List<Long> drop = new ArrayList<>();
    lock.lock();
    try {
      if (--mappings > 0 || !anonymous) {
        return;
      }
      for (Cached c : cache.values()) {
        drop.add(c.pfn);
      }
      cache.clear();
      store.clear();
    } finally {
      lock.unlock();
    }
    for (long pfn : drop) {
      memory.put(pfn);
    }
  }

  private long checkOffset(long offset) {
    if (offset < 0 || (offset & 7) != 0 || (offset >>> PhysicalMemory.PAGE_SHIFT) >= pages) {
      throw new IllegalArgumentException(
          "offset " + offset + " is not an aligned word inside " + name);
    }
    return offset >>> PhysicalMemory.PAGE_SHIFT;
  }
}
