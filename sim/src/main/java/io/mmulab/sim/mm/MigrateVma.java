package io.mmulab.sim.mm;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.Completion;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.mm.Pte.PageKind;
import io.mmulab.sim.mm.Pte.Present;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One migration of a range inside one VMA (kernel {@code struct migrate_vma} with {@code
 * migrate_vma_setup}, {@code migrate_vma_pages}, {@code migrate_vma_finalize}), the path of device
 * memory migration and of the {@code MIGRATE} event.
 *
 * <ol>
 *   <li>{@link #setup}: inside a MIGRATE invalidation of {@code [start, end)} carrying the owner,
 *       collects the pages and replaces each collected entry by a migration entry (faults, GUP and
 *       {@code hmmRangeFault} wait on it). Selected: with {@link #SELECT_SYSTEM}, empty entries of
 *       an anonymous VMA and zero-page entries (no source page), exclusive unpinned anonymous pages
 *       nobody else references, and unpinned anonymous pages shared copy-on-write (fork), but never
 *       device-coherent pages; with {@link #SELECT_DEVICE_PRIVATE}, device-private entries whose
 *       pagemap owner is the owner; with {@link #SELECT_DEVICE_COHERENT}, device-coherent pages of
 *       such a pagemap. Huge mappings are split first; with {@link #SELECT_COMPOUND} a 2 MiB block
 *       that was mapped huge or is empty is marked as one unit ({@link #isCompound}). Then the slow
 *       path (kernel {@code migrate_vma_unmap} → {@code try_to_migrate}): every other mapping of a
 *       shared page, in any address space, found by a scan of the machine's page tables (the
 *       reverse map), is replaced by a migration entry inside a CLEAR invalidation of that page in
 *       that address space, with no owner; a page that keeps a mapping or a reference the migration
 *       does not hold (a pin, a GUP reference, a mapping in an address space whose mmap lock is
 *       contended, part of a huge mapping there) is put back everywhere and not migrated, as the
 *       kernel's {@code migrate_vma_check_page} does.
 *   <li>The caller allocates a destination for each page it wants moved, copies the data and calls
 *       {@link #setDestination}, {@link #setDevicePrivateDestination} or {@link
 *       #setDeviceCoherentDestination}, handing over one reference; {@link #setHugeDestination}
 *       makes a unit's device-private destinations one 2 MiB device page.
 *   <li>{@link #pages}: destinations of pages without a source are inserted now, inside a second
 *       MIGRATE invalidation from the first such page to the end.
 *   <li>{@link #finalizeMigration}: every migration entry, in every address space, becomes the
 *       destination (or the source again, if none was given), without invalidation; replaced
 *       sources are dropped; waiters wake.
 * </ol>
 *
 * <p>The caller holds the mmap lock (for read) from setup to finalize; every setup must be
 * finalized. Not thread-safe: one caller drives one migration. If a callback throws during {@link
 * #setup}, the collection completes, is undone (every page put back), and the throwable is
 * rethrown; during {@link #pages}, the insertion completes and the throwable is rethrown (finalize
 * is still due). Inside an mm operation, both are reported when the operation ends.
 */
public final class MigrateVma {
  /** Select system memory (and empty or zero-page entries). */
  public static final int SELECT_SYSTEM = 1;

  /** Select device-private pages of the owner's pagemap. */
  public static final int SELECT_DEVICE_PRIVATE = 2;

  /**
   * Collect whole PMD-sized units ({@code MIGRATE_VMA_SELECT_COMPOUND}): a 2 MiB block of an
   * anonymous VMA that the range covers entirely and that is either mapped huge or entirely empty
   * ({@code pmd_none}) is collected as one unit, its first page marked {@link #isCompound}. The
   * caller may give the unit one huge destination or fall back to 512 base pages.
   */
  public static final int SELECT_COMPOUND = 4;

  /**
   * Select device-coherent pages of the owner's pagemap (present entries whose frame is a page of a
   * coherent {@link DevicePagemap} with that owner); {@link #SELECT_SYSTEM} never selects them.
   */
  public static final int SELECT_DEVICE_COHERENT = 8;

  private final SimMm s;
  private final Vma vma;
  private final long start;
  private final Object owner;
  private final Page[] pages;
  private final Completion done;
  private int stage;

  /** Per page; touched by the driving thread, and under the ptl when entries change. */
  private static final class Page {
    boolean migrate;
    long src = CoherencyChecker.NO_PFN;
    @Nullable DevicePagemap srcPagemap;
    @Nullable Pte original;
    boolean installed;
    long dst = CoherencyChecker.NO_PFN;
    @Nullable DevicePagemap dstPagemap;
    boolean migrated;

    /** Heads a PMD-sized unit ({@code MIGRATE_PFN_COMPOUND}). */
    boolean compound;

    /** Part of a unit whose destination is one 2 MiB device-private page. */
    boolean dstHuge;

    /** Shared with other mappings: the slow path must unmap them. */
    boolean shared;

    /** The other mappings the slow path replaced by migration entries. */
    final List<Remote> remotes = new ArrayList<>();
  }

  /** A mapping of a source page elsewhere, now one of this migration's entries. */
  private record Remote(SimMm mm, long va, Present original) {}

  private MigrateVma(SimMm s, Vma vma, long start, long end, Object owner) {
    this.s = s;
    this.vma = vma;
    this.start = start;
    this.owner = owner;
    this.pages = new Page[(int) ((end - start) >>> SimMm.PAGE_SHIFT)];
    for (int i = 0; i < pages.length; i++) {
      pages[i] = new Page();
    }
    this.done = s.rt.newCompletion(s.mm.name() + ".migrate@" + Long.toHexString(start));
  }

  /**
   * Collects the pages of {@code [start, end)} for migration (kernel {@code migrate_vma_setup}).
   *
   * @param mm the address space; its mmap lock must be held
   * @param start page-aligned first address
   * @param end page-aligned exclusive end, inside the same VMA
   * @param pgmapOwner the owner carried by the MIGRATE range and compared with device pagemaps
   * @param flags {@link #SELECT_SYSTEM} and/or {@link #SELECT_DEVICE_PRIVATE}
   * @return the migration, to be finalized
   * @throws ErrnoException {@link Errno#EINVAL} if the range is not inside one VMA, or the VMA is a
   *     raw pfn, mixed or hugetlb mapping (kernel {@code migrate_vma_setup})
   */
  public static MigrateVma setup(SimMm mm, long start, long end, Object pgmapOwner, int flags)
      throws ErrnoException {
    mm.requireMmapLock("migrate_vma_setup");
    SimMm.checkPageAligned(start);
    SimMm.checkPageAligned(end);
    if (start >= end) {
      throw new ErrnoException(Errno.EINVAL, "empty migration range");
    }
    Vma vma = mm.findVma(start);
    if (vma == null || end > vma.end() || vma.isPfnMap() || vma.isMixedMap() || vma.isHugetlb()) {
      throw new ErrnoException(
          Errno.EINVAL,
          "[0x"
              + Long.toHexString(start)
              + ", 0x"
              + Long.toHexString(end)
              + ") is not inside one migratable VMA of "
              + mm);
    }
    MigrateVma m = new MigrateVma(mm, vma, start, end, pgmapOwner);
    try {
      mm.machine
          .callbackFailures()
          .run(
              () -> {
                m.collect(end, flags);
                m.unmapShared();
              });
    } catch (RuntimeException | Error e) {
      // The caller gets no migration to finalize: put every page back before reporting.
      m.finalizeMigration();
      throw e;
    }
    return m;
  }

  private void collect(long end, int flags) {
    boolean system = (flags & SELECT_SYSTEM) != 0;
    boolean devicePrivate = (flags & SELECT_DEVICE_PRIVATE) != 0;
    boolean deviceCoherent = (flags & SELECT_DEVICE_COHERENT) != 0;
    DeviceCoherentPages coherentPages = s.machine.deviceCoherentPages();
    boolean compound = (flags & SELECT_COMPOUND) != 0 && system && vma.isAnonymous();
    List<Long> wasHuge = new ArrayList<>();
    s.invalidate(
        new MmuNotifierRange(s.mm, start, end, MmuNotifierEvent.MIGRATE, true, owner),
        "migrate_vma_setup",
        () -> {
          for (long block : s.hugeBlocksIn(start, end)) {
            wasHuge.add(block);
            s.splitHugeBlock(block);
          }
        },
        d -> {
          for (int i = 0; i < pages.length; i++) {
            long va = address(i);
            Page pg = pages[i];
            Pte e = s.pt.get(va);
            if (e == null) {
              pg.migrate = system && vma.isAnonymous();
            } else if (e instanceof Present p) {
              if (p.protnone()) {
                continue;
              }
              DevicePagemap coherent =
                  p.kind() == PageKind.ANON ? coherentPages.pagemapOf(p.pfn()) : null;
              boolean wanted =
                  coherent == null ? system : deviceCoherent && coherent.owner() == owner;
              if (!wanted) {
                continue;
              }
              if (p.kind() == PageKind.ZERO) {
                pg.migrate = true;
              } else if (p.kind() == PageKind.ANON
                  && s.memory.pincount(p.pfn()) == 0
                  && (!p.exclusive() || s.memory.refcount(p.pfn()) == 1)) {
                take(va, pg, p, p.pfn(), coherent);
                pg.shared = !p.exclusive();
              }
            } else if (e instanceof Pte.DevicePrivate dp
                && devicePrivate
                && dp.pagemap().owner() == owner) {
              take(va, pg, dp, dp.pfn(), dp.pagemap());
            }
          }
          if (compound) {
            markCompoundUnits(end, wasHuge);
          }
        });
  }

  /**
   * Kernel {@code migrate_vma_collect_hole} and {@code migrate_vma_collect_huge_pmd} with compound
   * selection: every block the range covers entirely that was mapped huge (split just before, as
   * the simulation keeps no huge migration entries) or is {@code pmd_none}, and whose 512 pages
   * were all collected. Under the ptl.
   */
  private void markCompoundUnits(long end, List<Long> wasHuge) {
    long first = (start + PageTable.HPAGE_SIZE - 1) & PageTable.HPAGE_MASK;
    for (long block = first; block + PageTable.HPAGE_SIZE <= end; block += PageTable.HPAGE_SIZE) {
      int head = (int) ((block - start) >>> SimMm.PAGE_SHIFT);
      if ((wasHuge.contains(block) || s.pt.isPmdNone(block)) && unitCollected(head)) {
        pages[head].compound = true;
      }
    }
  }

  private boolean unitCollected(int head) {
    for (int i = head; i < head + PageTable.HPAGE_PAGES; i++) {
      if (!pages[i].migrate) {
        return false;
      }
    }
    return true;
  }

  private void take(long va, Page pg, Pte original, long pfn, @Nullable DevicePagemap pagemap) {
    pg.migrate = true;
    pg.src = pfn;
    pg.srcPagemap = pagemap;
    pg.original = original;
    pg.installed = true;
    s.pt.set(va, new Pte.Migration(this, (int) ((va - start) >>> SimMm.PAGE_SHIFT)));
  }

  /**
   * The slow path for the shared pages (kernel {@code migrate_device_unmap}): each other mapping of
   * the page becomes a migration entry inside a CLEAR of that page in its address space; then the
   * page migrates only if the migration holds every reference.
   */
  private void unmapShared() {
    for (int i = 0; i < pages.length; i++) {
      Page pg = pages[i];
      if (!pg.shared) {
        continue;
      }
      boolean complete = true;
      for (SimProcess p : s.machine.processes()) {
        for (long va : mappingsOf(p.sim(), pg.src)) {
          complete &= tryToMigrate(p.sim(), va, i);
        }
      }
      boolean held =
          s.memory.pincount(pg.src) == 0 && s.memory.refcount(pg.src) == 1 + pg.remotes.size();
      if (!complete || !held) {
        putBack(i);
      }
    }
  }

  /** The addresses where {@code other} maps {@code pfn} (one reverse-map step: a table scan). */
  private static List<Long> mappingsOf(SimMm other, long pfn) {
    List<Long> out = new ArrayList<>();
    SpinLock ptl = other.pt.ptl();
    ptl.lock();
    try {
      for (Map.Entry<Long, Pte> e : other.pt.entries(0, SimMm.TASK_SIZE)) {
        if (e.getValue() instanceof Present p && p.pfn() == pfn) {
          out.add(e.getKey());
        }
      }
    } finally {
      ptl.unlock();
    }
    return out;
  }

  /**
   * Kernel {@code try_to_migrate_one} for the mapping of page {@code i} at {@code va} in {@code
   * other}. Its mmap lock is only tried (it stands for the reverse-map lock, and waiting for it
   * while holding ours could deadlock against a migration the other way); ours is held already.
   *
   * @return false if the mapping stays
   */
  private boolean tryToMigrate(SimMm other, long va, int i) {
    RwSemaphore lock = other.mm.mmapLock();
    boolean own = other == s;
    if (!own && !lock.downReadTrylock()) {
      return false;
    }
    try {
      long src = pages[i].src;
      boolean[] done = {false};
      other.invalidate(
          new MmuNotifierRange(
              other.mm, va, va + SimMm.PAGE_SIZE, MmuNotifierEvent.CLEAR, true, null),
          "try_to_migrate",
          null,
          d -> {
            if (other.pt.get(va) instanceof Present q && q.pfn() == src && !q.huge()) {
              other.pt.set(va, new Pte.Migration(this, i));
              pages[i].remotes.add(new Remote(other, va, q));
              done[0] = true;
            }
          });
      return done[0];
    } finally {
      if (!own) {
        lock.upRead();
      }
    }
  }

  /**
   * Puts page {@code i} back where the slow path could not take all of it: every entry returns to
   * its original, without invalidation (a migration entry was never usable). No ptl held: each
   * address space's is taken on its own.
   */
  private void putBack(int i) {
    Page pg = pages[i];
    Present original = (Present) Objects.requireNonNull(pg.original, "a collected page");
    endEntry(new Remote(s, address(i), original), i, CoherencyChecker.NO_PFN);
    for (Remote r : pg.remotes) {
      endEntry(r, i, CoherencyChecker.NO_PFN);
    }
    pg.remotes.clear();
    pg.migrate = false;
    pg.installed = false;
    pg.shared = false;
    pg.src = CoherencyChecker.NO_PFN;
    pg.original = null;
  }

  /**
   * Ends the migration entry of page {@code i} at {@code r}: the destination {@code dst} (one more
   * reference, shared read as the original was), or the original page again if {@code dst} is
   * {@link CoherencyChecker#NO_PFN}. A mapping zapped meanwhile just drops the source reference the
   * migration held for it. No ptl held.
   */
  private void endEntry(Remote r, int i, long dst) {
    boolean ours;
    SpinLock ptl = r.mm().pt.ptl();
    ptl.lock();
    try {
      ours =
          r.mm().pt.get(r.va()) instanceof Pte.Migration m
              && m.migration() == this
              && m.index() == i;
      if (ours && dst == CoherencyChecker.NO_PFN) {
        r.mm().pt.set(r.va(), r.original());
      } else if (ours) {
        s.memory.get(dst);
        r.mm()
            .pt
            .set(
                r.va(),
                new Present(
                    dst,
                    PageKind.ANON,
                    r.original().writable(),
                    r.original().dirty(),
                    false,
                    false,
                    false,
                    false));
      }
    } finally {
      ptl.unlock();
    }
    if (!ours || dst != CoherencyChecker.NO_PFN) {
      s.memory.put(r.original().pfn());
    }
  }

  /**
   * Returns the owner the migration was set up with.
   *
   * @return the owner, or null
   */
  public Object owner() {
    return owner;
  }

  /**
   * Returns the first address.
   *
   * @return the start
   */
  public long start() {
    return start;
  }

  /**
   * Returns the number of pages in the range.
   *
   * @return the page count
   */
  public int npages() {
    return pages.length;
  }

  /**
   * Tells whether page {@code i} was collected ({@code MIGRATE_PFN_MIGRATE}).
   *
   * @param i page index
   * @return true if it may be migrated
   */
  public boolean isMigrating(int i) {
    return pages[i].migrate;
  }

  /**
   * Tells whether page {@code i} heads a PMD-sized unit of 512 pages collected together ({@code
   * MIGRATE_PFN_COMPOUND}, only with {@link #SELECT_COMPOUND}).
   *
   * @param i page index
   * @return true for the first page of a unit
   */
  public boolean isCompound(int i) {
    return pages[i].compound;
  }

  /**
   * Returns the source frame of page {@code i}.
   *
   * @param i page index
   * @return the frame, or {@link CoherencyChecker#NO_PFN} for an empty or zero-page entry
   */
  public long srcPfn(int i) {
    return pages[i].src;
  }

  /**
   * Tells whether the source entry of page {@code i} was writable ({@code MIGRATE_PFN_WRITE}).
   *
   * @param i page index
   * @return true if writable
   */
  public boolean srcWritable(int i) {
    Pte o = pages[i].original;
    return (o instanceof Present p && p.writable())
        || (o instanceof Pte.DevicePrivate d && d.writable());
  }

  /**
   * Tells whether the source of page {@code i} is device-private memory.
   *
   * @param i page index
   * @return true for a device-private source
   */
  public boolean srcIsDevicePrivate(int i) {
    return pages[i].original instanceof Pte.DevicePrivate;
  }

  /**
   * Tells whether the source of page {@code i} is device-coherent memory.
   *
   * @param i page index
   * @return true for a device-coherent source
   */
  public boolean srcIsDeviceCoherent(int i) {
    return pages[i].original instanceof Present && pages[i].srcPagemap != null;
  }

  /**
   * Gives page {@code i} a system-memory destination; its one reference passes to the migration.
   *
   * @param i a collected page
   * @param pfn an allocated frame holding the data
   */
  public void setDestination(int i, long pfn) {
    setDst(i, pfn, null);
  }

  /**
   * Gives page {@code i} a device-private destination; its one reference passes to the migration.
   *
   * @param i a collected page
   * @param pfn a frame of the device's memory holding the data
   * @param pagemap the device memory
   */
  public void setDevicePrivateDestination(int i, long pfn, DevicePagemap pagemap) {
    if (Objects.requireNonNull(pagemap, "pagemap is null").isCoherent()) {
      throw new IllegalArgumentException(pagemap + " is device-coherent memory");
    }
    setDst(i, pfn, pagemap);
  }

  /**
   * Gives page {@code i} a device-coherent destination, which the CPU will map with an ordinary
   * present entry; its one reference passes to the migration, and the frame is recorded as a page
   * of {@code pagemap}.
   *
   * @param i a collected page
   * @param pfn a frame of the device's memory holding the data
   * @param pagemap the device memory, {@link DevicePagemap#isCoherent coherent}
   */
  /**
   * Makes the 512 destinations of the unit headed by {@code head} ({@link #isCompound}) one 2 MiB
   * device-private page: once all of them migrated, the CPU maps the unit with a PMD-level
   * device-private entry, and a later change to part of it splits it. Every page of the unit must
   * already have a device-private destination of one pagemap.
   *
   * @param head the first page of a collected unit
   */
  public void setHugeDestination(int head) {
    if (stage != 0 || !pages[head].compound) {
      throw new IllegalStateException("page " + head + " does not head a collected unit");
    }
    DevicePagemap pagemap = pages[head].dstPagemap;
    for (int i = head; i < head + PageTable.HPAGE_PAGES; i++) {
      if (pages[i].dst == CoherencyChecker.NO_PFN
          || pages[i].dstPagemap != pagemap
          || !isPrivate(pagemap)) {
        throw new IllegalStateException(
            "page " + i + " of the unit at " + head + " has no device-private destination");
      }
    }
    for (int i = head; i < head + PageTable.HPAGE_PAGES; i++) {
      pages[i].dstHuge = true;
    }
  }

  /**
   * Gives page {@code i} a device-coherent destination, which the CPU will map with an ordinary
   * present entry; its one reference passes to the migration, and the frame is recorded as a page
   * of {@code pagemap}.
   *
   * @param i a collected page
   * @param pfn a frame of the device's memory holding the data
   * @param pagemap the device memory, {@link DevicePagemap#isCoherent coherent}
   */
  public void setDeviceCoherentDestination(int i, long pfn, DevicePagemap pagemap) {
    if (!Objects.requireNonNull(pagemap, "pagemap is null").isCoherent()) {
      throw new IllegalArgumentException(pagemap + " is not device-coherent memory");
    }
    setDst(i, pfn, pagemap);
    s.machine.deviceCoherentPages().add(pfn, pagemap);
  }

  private void setDst(int i, long pfn, @Nullable DevicePagemap pagemap) {
    if (stage != 0) {
      throw new IllegalStateException("destinations are set between setup and pages()");
    }
    if (!pages[i].migrate || pages[i].dst != CoherencyChecker.NO_PFN) {
      throw new IllegalStateException(
          "page " + i + " is not collected or already has a destination");
    }
    pages[i].dst = pfn;
    pages[i].dstPagemap = pagemap;
  }

  /**
   * Kernel {@code migrate_vma_pages}: inserts the destinations of pages that had no source (inside
   * a MIGRATE invalidation from the first of them to the end) and commits the others.
   */
  public void pages() {
    if (stage != 0) {
      throw new IllegalStateException("pages() twice or after finalize");
    }
    stage = 1;
    int first = -1;
    for (int i = 0; i < pages.length; i++) {
      Page pg = pages[i];
      if (pg.migrate && pg.dst != CoherencyChecker.NO_PFN) {
        if (pg.src == CoherencyChecker.NO_PFN && first < 0) {
          first = i;
        }
        pg.migrated = pg.src != CoherencyChecker.NO_PFN;
      }
    }
    if (first < 0) {
      return;
    }
    boolean[] anon = {false};
    s.invalidate(
        new MmuNotifierRange(
            s.mm, address(first), address(pages.length), MmuNotifierEvent.MIGRATE, true, owner),
        "migrate_vma_pages",
        null,
        d -> {
          for (int i = 0; i < pages.length; i++) {
            Page pg = pages[i];
            if (!pg.migrate
                || pg.src != CoherencyChecker.NO_PFN
                || pg.dst == CoherencyChecker.NO_PFN) {
              continue;
            }
            long va = address(i);
            Pte e = s.pt.get(va);
            if (e != null && !(e instanceof Present p && p.kind() == PageKind.ZERO)) {
              continue;
            }
            boolean w = vma.isWritable();
            DevicePagemap pm = pg.dstPagemap;
            s.pt.set(
                va,
                pm != null && !pm.isCoherent()
                    ? new Pte.DevicePrivate(pg.dst, pm, w, false)
                    : Present.anon(pg.dst, w, w));
            pg.migrated = true;
            anon[0] = true;
          }
        });
    if (anon[0]) {
      vma.anonVma().set(true);
    }
  }

  /**
   * Kernel {@code migrate_vma_finalize}: replaces each migration entry by its destination, or by
   * the original entry if the page was not migrated, drops what is no longer mapped, and wakes
   * everybody waiting on the migration. No invalidation: a migration entry was never usable.
   */
  public void finalizeMigration() {
    if (stage == 2) {
      throw new IllegalStateException("finalized twice");
    }
    stage = 2;
    s.machine
        .callbackFailures()
        .run(
            () -> {
              finalizeEntries();
            });
  }

  private void finalizeEntries() {
    SimMm.Deferred deferred = new SimMm.Deferred();
    SpinLock ptl = s.pt.ptl();
    ptl.lock();
    try {
      for (int i = 0; i < pages.length; i++) {
        Page pg = pages[i];
        if (!pg.installed) {
          if (pg.dst != CoherencyChecker.NO_PFN && !pg.migrated) {
            dropDst(pg, deferred);
          }
          continue;
        }
        long va = address(i);
        boolean ours = s.pt.get(va) instanceof Pte.Migration m && m.migration() == this;
        if (pg.migrated && ours) {
          s.pt.set(va, destinationEntry(pg));
          dropSrc(pg, deferred);
        } else if (ours) {
          s.pt.set(va, pg.original);
          pg.migrated = false;
          if (pg.dst != CoherencyChecker.NO_PFN) {
            dropDst(pg, deferred);
          }
        } else {
          pg.migrated = false;
          dropSrc(pg, deferred);
          if (pg.dst != CoherencyChecker.NO_PFN) {
            dropDst(pg, deferred);
          }
        }
      }
      installHugeDestinations();
    } finally {
      ptl.unlock();
    }
    for (int i = 0; i < pages.length; i++) {
      Page pg = pages[i];
      for (Remote r : pg.remotes) {
        endEntry(r, i, pg.migrated ? pg.dst : CoherencyChecker.NO_PFN);
      }
    }
    deferred.run();
    done.completeAll();
  }

  /**
   * Turns every unit whose 512 pages all reached their huge destination into one PMD-level
   * device-private page. The frames and permissions do not change, so no invalidation is due; a
   * unit that did not migrate entirely stays in base entries (the kernel's split on fallback).
   * Under the ptl.
   */
  private void installHugeDestinations() {
    for (int head = 0; head < pages.length; head++) {
      if (!pages[head].compound || !pages[head].dstHuge) {
        continue;
      }
      boolean complete = true;
      for (int i = head; i < head + PageTable.HPAGE_PAGES; i++) {
        complete &=
            pages[i].migrated
                && s.pt.get(address(i)) instanceof Pte.DevicePrivate d
                && d.pfn() == pages[i].dst;
      }
      for (int i = head; complete && i < head + PageTable.HPAGE_PAGES; i++) {
        if (s.pt.get(address(i)) instanceof Pte.DevicePrivate d) {
          s.pt.set(address(i), d.withHuge(true));
        }
      }
    }
  }

  /**
   * Returns how many pages ended in their destination (after {@link #finalizeMigration}).
   *
   * @return the count
   */
  public int migratedPages() {
    int n = 0;
    for (Page pg : pages) {
      n += pg.migrated ? 1 : 0;
    }
    return n;
  }

  private Pte destinationEntry(Page pg) {
    boolean w = srcWritable(pg);
    DevicePagemap pm = pg.dstPagemap;
    if (pm != null && !pm.isCoherent()) {
      return new Pte.DevicePrivate(pg.dst, pm, w, false);
    }
    boolean dirty = pg.original instanceof Present p ? p.dirty() : w;
    if (!pg.remotes.isEmpty()) {
      return new Present(pg.dst, PageKind.ANON, w, dirty, false, false, false, false);
    }
    return Present.anon(pg.dst, w, dirty);
  }

  private static boolean srcWritable(Page pg) {
    return (pg.original instanceof Present p && p.writable())
        || (pg.original instanceof Pte.DevicePrivate d && d.writable());
  }

  private void dropSrc(Page pg, SimMm.Deferred deferred) {
    long pfn = pg.src;
    DevicePagemap pm = pg.srcPagemap;
    deferred.add(() -> put(pfn, pm));
  }

  private void dropDst(Page pg, SimMm.Deferred deferred) {
    long pfn = pg.dst;
    DevicePagemap pm = pg.dstPagemap;
    deferred.add(() -> put(pfn, pm));
  }

  private static boolean isPrivate(@Nullable DevicePagemap pagemap) {
    return pagemap != null && !pagemap.isCoherent();
  }

  private void put(long pfn, @Nullable DevicePagemap pagemap) {
    if (pagemap != null && !pagemap.isCoherent()) {
      s.putDevicePage(pfn, pagemap);
    } else {
      s.memory.put(pfn);
    }
  }

  /** Waits until the migration is finalized (kernel {@code migration_entry_wait}). */
  void awaitDone() {
    s.rt.yieldPoint("migration entry: before waiting");
    done.waitForCompletion();
  }

  private long address(int i) {
    return start + ((long) i << SimMm.PAGE_SHIFT);
  }

  // ---------------------------------------------------------------------------------------------
  // Whole migrations

  /**
   * Migrates the anonymous pages of {@code [start, end)} to new system frames (MIGRATE with {@code
   * owner}); empty and zero-page entries, shared, pinned or referenced pages stay. The caller holds
   * the mmap lock.
   *
   * @param mm the address space
   * @param start page-aligned
   * @param end page-aligned
   * @param owner the MIGRATE ranges' owner
   * @return pages migrated
   * @throws ErrnoException {@link Errno#ENOMEM} if a destination could not be allocated
   */
  public static int migrate(SimMm mm, long start, long end, Object owner) throws ErrnoException {
    int n = 0;
    for (Vma v : mm.vmasIn(start, end)) {
      if (v.isPfnMap() || v.isMixedMap() || v.isHugetlb()) {
        continue;
      }
      MigrateVma m =
          setup(mm, Math.max(start, v.start()), Math.min(end, v.end()), owner, SELECT_SYSTEM);
      try {
        for (int i = 0; i < m.npages(); i++) {
          if (m.isMigrating(i) && m.srcPfn(i) != CoherencyChecker.NO_PFN) {
            long dst = mm.memory.alloc(mm.owner("migrated", m.address(i)));
            mm.memory.copy(m.srcPfn(i), dst);
            m.setDestination(i, dst);
          }
        }
        m.pages();
      } finally {
        m.finalizeMigration();
      }
      n += m.migratedPages();
    }
    return n;
  }

  /**
   * Migrates the system pages of {@code [start, end)} (and its empty anonymous entries) into
   * device-private memory of {@code pagemap}, as {@code dmirror}'s MIGRATE_TO_DEV does; the device
   * frames are allocated from physical memory. The caller holds the mmap lock.
   *
   * @param mm the address space
   * @param start page-aligned
   * @param end page-aligned, inside one VMA
   * @param pagemap the device memory; its owner is the MIGRATE ranges' owner
   * @return pages migrated
   * @throws ErrnoException {@link Errno#EINVAL} as {@link #setup}, {@link Errno#ENOMEM}
   */
  public static int migrateToDevice(SimMm mm, long start, long end, DevicePagemap pagemap)
      throws ErrnoException {
    MigrateVma m = setup(mm, start, end, pagemap.owner(), SELECT_SYSTEM);
    try {
      for (int i = 0; i < m.npages(); i++) {
        if (!m.isMigrating(i)) {
          continue;
        }
        long dst = mm.memory.alloc(mm.owner("device page", m.address(i)));
        if (m.srcPfn(i) != CoherencyChecker.NO_PFN) {
          mm.memory.copy(m.srcPfn(i), dst);
        }
        m.setDevicePrivateDestination(i, dst, pagemap);
      }
      m.pages();
    } finally {
      m.finalizeMigration();
    }
    return m.migratedPages();
  }

  /**
   * Migrates the device-coherent page at {@code va} to system memory before a long-term pin (kernel
   * {@code check_and_migrate_movable_pages} → {@code migrate_device_coherent_folio}: a coherent
   * page is not long-term pinnable). The caller holds the mmap lock.
   *
   * @param mm the address space
   * @param va page-aligned
   * @param pagemap the page's coherent memory; its owner is the MIGRATE range's owner
   * @return pages migrated (0 if the page was not taken: shared with a pin, say)
   * @throws ErrnoException {@link Errno#ENOMEM} if no system page could be allocated
   */
  static int migrateCoherentToRam(SimMm mm, long va, DevicePagemap pagemap) throws ErrnoException {
    MigrateVma m = setup(mm, va, va + SimMm.PAGE_SIZE, pagemap.owner(), SELECT_DEVICE_COHERENT);
    try {
      if (m.isMigrating(0) && m.srcIsDeviceCoherent(0)) {
        long dst = mm.memory.alloc(mm.owner("unpinnable coherent page", va));
        mm.memory.copy(m.srcPfn(0), dst);
        m.setDestination(0, dst);
      }
      m.pages();
    } finally {
      m.finalizeMigration();
    }
    return m.migratedPages();
  }

  /**
   * Migrates the device-private pages of {@code pagemap} in {@code [start, end)} back to system
   * memory (the usual {@code migrate_to_ram} and MIGRATE_TO_SYS). The caller holds the mmap lock.
   *
   * @param mm the address space
   * @param start page-aligned
   * @param end page-aligned, inside one VMA
   * @param pagemap the device memory; its owner is the MIGRATE range's owner
   * @return pages migrated
   * @throws ErrnoException {@link Errno#EINVAL} as {@link #setup}, {@link Errno#ENOMEM}
   */
  public static int migrateToRam(SimMm mm, long start, long end, DevicePagemap pagemap)
      throws ErrnoException {
    MigrateVma m = setup(mm, start, end, pagemap.owner(), SELECT_DEVICE_PRIVATE);
    try {
      for (int i = 0; i < m.npages(); i++) {
        if (m.isMigrating(i) && m.srcIsDevicePrivate(i)) {
          long dst = mm.memory.alloc(mm.owner("migrated back", m.address(i)));
          mm.memory.copy(m.srcPfn(i), dst);
          m.setDestination(i, dst);
        }
      }
      m.pages();
    } finally {
      m.finalizeMigration();
    }
    return m.migratedPages();
  }
}
