package io.mmulab.sim.mm;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.Pte.PageKind;
import io.mmulab.sim.mm.Pte.Present;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;
import org.jspecify.annotations.Nullable;

/**
 * The page-fault handler (kernel {@code handle_mm_fault}): one pass resolves one reason the entry
 * was unusable and returns; callers look the entry up again and fault again if needed (as the CPU
 * re-executes the access, GUP retries {@code follow_page} and {@code hmmRangeFault} re-walks). The
 * mmap lock is held by the caller.
 *
 * <ul>
 *   <li>None: anonymous read → zero page; anonymous write → new zeroed page; huge VMA with an
 *       empty, fully covered 2 MiB block → the huge zero page on a read (read-only, shared by every
 *       such mapping of the machine), a new huge page on a write; file or shared anonymous →
 *       page-cache page (shared: writable if the VMA is; private: read-only, a write copies it);
 *       raw pfn mappings → {@code SIGBUS}.
 *   <li>Present, write to a read-only entry (or a pinning GUP of a shared anonymous page, {@code
 *       FAULT_FLAG_UNSHARE}): reuse an exclusive anonymous page or a shared file page; otherwise
 *       copy ({@code wp_page_copy}: CLEAR of the page around the switch, old page dropped after the
 *       end). A huge mapping is reused whole or split (CLEAR of the block) and handled per page;
 *       the huge zero page is always split, into entries of the base zero page.
 *   <li>Protnone: NUMA hinting fault, access restored without invalidation.
 *   <li>Swap entry: page read back (swap cache or swap slot).
 *   <li>Device-private entry: the pagemap's {@link DevicePagemap#migrateToRam}.
 *   <li>Device-exclusive entry: restored inside a CLEAR invalidation of the page.
 *   <li>Migration entry: waits for the migration to finish.
 *   <li>Hugetlb mappings: the whole hugetlb page is faulted from the machine's pool, and a write to
 *       a shared one copies it whole; never split.
 * </ul>
 */
final class FaultHandler {
  private final SimMm s;

  FaultHandler(SimMm s) {
    this.s = s;
  }

  /**
   * Handles one fault at {@code va} in {@code vma}.
   *
   * @throws ErrnoException {@link Errno#EFAULT} for {@code SIGSEGV}/{@code SIGBUS}, {@link
   *     Errno#ENOMEM} if no frame could be allocated
   */
  void fault(Vma vma, long va, boolean write, boolean unshare) throws ErrnoException {
    if (write && !vma.isWritable()) {
      throw segv(va, "write to " + vma);
    }
    for (int pass = 0; pass < 2; pass++) {
      Pte e;
      boolean pmdNone;
      SpinLock ptl = s.pt.ptl();
      ptl.lock();
      try {
        e = s.pt.get(va);
        pmdNone = s.pt.isPmdNone(va & PageTable.HPAGE_MASK);
      } finally {
        ptl.unlock();
      }
      s.rt.yieldPoint("fault: after page-table lookup");
      if (!step(vma, va, e, pmdNone, write, unshare)) {
        return;
      }
    }
  }

  /** One step; true if a huge mapping was split and the base-page path must run. */
  private boolean step(
      Vma vma, long va, @Nullable Pte e, boolean pmdNone, boolean write, boolean unshare)
      throws ErrnoException {
    if (e == null) {
      faultNone(vma, va, write, pmdNone);
      return false;
    }
    if (e instanceof Present p) {
      if (p.protnone()) {
        if (!vma.isReadable()) {
          throw segv(va, "access to " + vma);
        }
        replaceIfSame(va, p, p.withProtnone(false));
        return false;
      }
      if ((write && !p.writable()) || (unshare && p.kind() == PageKind.ANON && !p.exclusive())) {
        return wpFault(vma, va, p, unshare && !write);
      }
      if (write && !p.dirty()) {
        replaceIfSame(va, p, p.withDirty(true));
      }
      return false;
    }
    if (e instanceof Pte.Swap sw) {
      swapIn(vma, va, sw, write);
    } else if (e instanceof Pte.DevicePrivate d) {
      try {
        d.pagemap().migrateToRam(s, va);
      } catch (ErrnoException ex) {
        throw new ErrnoException(
            Errno.EFAULT,
            "SIGBUS: migrating device page at 0x" + Long.toHexString(va) + " back failed: " + ex);
      }
    } else if (e instanceof Pte.DeviceExclusive x) {
      restoreExclusive(vma, va, x);
    } else {
      ((Pte.Migration) e).migration().awaitDone();
    }
    return false;
  }

  // ---------------------------------------------------------------------------------------------
  // Empty entries

  private void faultNone(Vma vma, long va, boolean write, boolean pmdNone) throws ErrnoException {
    if (vma.isPfnMap() || vma.isMixedMap()) {
      throw new ErrnoException(
          Errno.EFAULT, "SIGBUS: nothing inserted at 0x" + Long.toHexString(va) + " in " + vma);
    }
    if (vma.isHugetlb()) {
      hugetlbFault(vma, va, write);
      return;
    }
    if (vma.isAnonymous()) {
      long block = va & PageTable.HPAGE_MASK;
      if (vma.isHuge()
          && pmdNone
          && block >= vma.start()
          && block + PageTable.HPAGE_SIZE <= vma.end()
          && (write ? hugeFault(vma, block) : hugeZeroFault(vma, block))) {
        return;
      }
      if (!write) {
        installIfNone(va, Present.of(PhysicalMemory.ZERO_PFN, PageKind.ZERO, false, false));
        return;
      }
      long pfn = s.memory.alloc(s.owner("anon", va));
      s.rt.yieldPoint("fault: before taking the page-table lock");
      if (installIfNone(va, Present.anon(pfn, true, true))) {
        vma.anonVma().set(true);
      } else {
        s.memory.put(pfn);
      }
      return;
    }
    SimFile file = vma.backingFile();
    long pfn = file.getPage(vma.fileIndex(va));
    s.rt.yieldPoint("fault: after page-cache lookup");
    if (vma.isShared()) {
      if (!installIfNone(va, Present.of(pfn, PageKind.FILE, vma.isWritable(), write))) {
        s.memory.put(pfn);
      }
    } else if (!write) {
      if (!installIfNone(va, Present.of(pfn, PageKind.FILE, false, false))) {
        s.memory.put(pfn);
      }
    } else {
      long copy;
      try {
        copy = s.memory.alloc(s.owner("cow", va));
      } catch (ErrnoException ex) {
        s.memory.put(pfn);
        throw ex;
      }
      s.memory.copy(pfn, copy);
      s.memory.put(pfn);
      if (installIfNone(va, Present.anon(copy, true, true))) {
        vma.anonVma().set(true);
      } else {
        s.memory.put(copy);
      }
    }
  }

  /**
   * Kernel {@code do_huge_pmd_anonymous_page} for a read: maps the huge zero page read-only over
   * the empty block (no frame allocated, no reference taken); false to fall back to base pages.
   * Like every huge anonymous fault it prepares the anon_vma first, so fork copies the mapping.
   */
  private boolean hugeZeroFault(Vma vma, long block) {
    long head = s.machine.hugeZeroPage();
    if (head == SimMachine.NO_HUGE_ZERO) {
      return false;
    }
    vma.anonVma().set(true);
    mapBlock(
        block, i -> new Present(head + i, PageKind.ZERO, false, false, false, false, false, true));
    return true;
  }

  /** Installs the 512 entries {@code entry} gives if the block is still empty; ptl taken here. */
  private boolean mapBlock(long block, IntFunction<Present> entry) {
    SpinLock ptl = s.pt.ptl();
    ptl.lock();
    try {
      if (!s.pt.isPmdNone(block)) {
        return false;
      }
      for (int i = 0; i < PageTable.HPAGE_PAGES; i++) {
        s.pt.set(block + ((long) i << SimMm.PAGE_SHIFT), entry.apply(i));
      }
      return true;
    } finally {
      ptl.unlock();
    }
  }

  /** Maps a new huge page over an empty block; false to fall back to base pages. */
  private boolean hugeFault(Vma vma, long block) {
    long head;
    try {
      head = s.memory.allocContiguous(s.owner("thp", block), PageTable.HPAGE_ORDER);
    } catch (ErrnoException ex) {
      return false;
    }
    boolean installed =
        mapBlock(
            block,
            i ->
                new Present(
                    head + i, PageKind.ANON, vma.isWritable(), true, true, false, false, true));
    if (installed) {
      vma.anonVma().set(true);
    } else {
      for (int i = 0; i < PageTable.HPAGE_PAGES; i++) {
        s.memory.put(head + i);
      }
    }
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // Write-protect and unshare faults (kernel do_wp_page)

  private boolean wpFault(Vma vma, long va, Present p, boolean unshare) throws ErrnoException {
    if (vma.isHugetlb()) {
      hugetlbWp(vma, va, unshare);
      return false;
    }
    if (p.huge()) {
      return hugeWpFault(vma, va, unshare);
    }
    if (!unshare && !vma.isWritable()) {
      throw segv(va, "write to " + vma);
    }
    if (p.kind() == PageKind.ANON) {
      SpinLock ptl = s.pt.ptl();
      ptl.lock();
      try {
        if (!p.equals(s.pt.get(va))) {
          return false;
        }
        if (p.exclusive() || s.memory.refcount(p.pfn()) == 1) {
          Present reused = p.withExclusive(true);
          s.pt.set(va, unshare ? reused : reused.withWritable(true).withDirty(true));
          return false;
        }
      } finally {
        ptl.unlock();
      }
    } else if (p.kind() == PageKind.FILE && vma.isShared()) {
      replaceIfSame(va, p, p.withWritable(true).withDirty(true));
      return false;
    }
    wpPageCopy(vma, va, p, unshare);
    return false;
  }

  /** Kernel {@code wp_page_copy}: a private copy replaces the entry inside a CLEAR of the page. */
  private void wpPageCopy(Vma vma, long va, Present p, boolean unshare) throws ErrnoException {
    SpinLock ptl = s.pt.ptl();
    ptl.lock();
    try {
      if (!p.equals(s.pt.get(va))) {
        return;
      }
      if (p.holdsReference()) {
        s.memory.get(p.pfn());
      }
    } finally {
      ptl.unlock();
    }
    try {
      long copy = s.memory.alloc(s.owner("cow", va));
      if (p.kind() != PageKind.ZERO) {
        s.memory.copy(p.pfn(), copy);
      }
      boolean[] replaced = {false};
      s.invalidate(
          MmuNotifierRange.of(s.mm, MmuNotifierEvent.CLEAR, va, va + SimMm.PAGE_SIZE),
          "cow",
          null,
          d -> {
            if (p.equals(s.pt.get(va))) {
              s.release(vma, va, p, d);
              s.pt.set(
                  va,
                  new Present(copy, PageKind.ANON, !unshare, !unshare, true, false, false, false));
              replaced[0] = true;
            }
          });
      if (replaced[0]) {
        vma.anonVma().set(true);
      } else {
        s.memory.put(copy);
      }
    } finally {
      if (p.holdsReference()) {
        s.memory.put(p.pfn());
      }
    }
  }

  /** Write or unshare fault on a huge mapping: reuse it whole, or split it and fall back. */
  private boolean hugeWpFault(Vma vma, long va, boolean unshare) throws ErrnoException {
    long block = va & PageTable.HPAGE_MASK;
    SpinLock ptl = s.pt.ptl();
    ptl.lock();
    try {
      if (!s.pt.isHugeBlock(block)) {
        return true;
      }
      // Kernel do_huge_pmd_wp_page: the huge zero page is never reused; the block is split (512
      // entries of the base zero page) below and the write faults on the base entry.
      boolean reusable = !(s.pt.get(block) instanceof Present leaf && leaf.kind() == PageKind.ZERO);
      List<Map.Entry<Long, Pte>> all = s.pt.entries(block, block + PageTable.HPAGE_SIZE);
      for (Map.Entry<Long, Pte> e : all) {
        Present p = (Present) e.getValue();
        reusable &= p.exclusive() || s.memory.refcount(p.pfn()) == 1;
      }
      if (reusable && (unshare || vma.isWritable())) {
        for (Map.Entry<Long, Pte> e : all) {
          Present p = ((Present) e.getValue()).withExclusive(true);
          s.pt.set(e.getKey(), unshare ? p : p.withWritable(true).withDirty(true));
        }
        return false;
      }
    } finally {
      ptl.unlock();
    }
    if (!unshare && !vma.isWritable()) {
      throw segv(va, "write to " + vma);
    }
    s.splitHugeBlock(block);
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // Hugetlb pages: faulted whole, copied whole, never split

  /**
   * Kernel {@code hugetlb_no_page} for private memory: a zeroed page from the pool (paid by the
   * mapping's reservation while it has one) mapped whole, read-only unless the fault writes.
   *
   * @throws ErrnoException {@link Errno#EFAULT} ({@code SIGBUS}) if the pool has no page for it
   */
  private void hugetlbFault(Vma vma, long va, boolean write) throws ErrnoException {
    int order = vma.hugetlbOrder();
    long start = va & -vma.hugetlbSize();
    HugetlbPool pool = s.machine.hugetlb();
    HugetlbPool.Page page = pool.alloc(order, vma.anonVma(), true);
    if (page == null) {
      throw new ErrnoException(
          Errno.EFAULT,
          "SIGBUS: no free hugetlb page of order " + order + " for 0x" + Long.toHexString(va));
    }
    int n = 1 << order;
    for (int i = 0; i < n; i++) {
      s.memory.get(page.head() + i);
    }
    boolean installed = false;
    SpinLock ptl = s.pt.ptl();
    ptl.lock();
    try {
      if (s.pt.get(start) == null) {
        for (int i = 0; i < n; i++) {
          s.pt.set(
              start + ((long) i << SimMm.PAGE_SHIFT),
              new Present(
                  page.head() + i, PageKind.ANON, write, write, true, false, false, true, order));
        }
        installed = true;
      }
    } finally {
      ptl.unlock();
    }
    if (installed) {
      vma.anonVma().set(true);
      return;
    }
    for (int i = 0; i < n; i++) {
      s.memory.put(page.head() + i);
    }
    pool.cancel(order, page, vma.anonVma());
  }

  /**
   * Kernel {@code hugetlb_wp}: an exclusive page (or one only this mapping holds) is reused whole;
   * otherwise a copy from the pool's unreserved pages replaces it inside a CLEAR invalidation of
   * the whole hugetlb page, and the old page's references go after the end.
   *
   * @throws ErrnoException {@link Errno#EFAULT} ({@code SIGSEGV} for a read-only VMA, {@code
   *     SIGBUS} if no page is free for the copy)
   */
  private void hugetlbWp(Vma vma, long va, boolean unshare) throws ErrnoException {
    int order = vma.hugetlbOrder();
    long size = vma.hugetlbSize();
    long start = va & -size;
    int n = 1 << order;
    Present[] old = new Present[n]; // copied: the page table's entries are live views
    SpinLock ptl = s.pt.ptl();
    ptl.lock();
    try {
      for (int i = 0; i < n; i++) {
        if (!(s.pt.get(start + ((long) i << SimMm.PAGE_SHIFT)) instanceof Present p)) {
          return; // changed under us: the access faults again
        }
        old[i] = p;
      }
      boolean reusable = true;
      for (Present p : old) {
        reusable &= p.exclusive() || s.memory.refcount(p.pfn()) == 2; // the pool's and ours
      }
      if (reusable && (unshare || vma.isWritable())) {
        for (int i = 0; i < n; i++) {
          Present p = old[i].withExclusive(true);
          s.pt.set(
              start + ((long) i << SimMm.PAGE_SHIFT),
              unshare ? p : p.withWritable(true).withDirty(true));
        }
        return;
      }
      for (Present p : old) {
        s.memory.get(p.pfn());
      }
    } finally {
      ptl.unlock();
    }
    try {
      if (!unshare && !vma.isWritable()) {
        throw segv(va, "write to " + vma);
      }
      hugetlbCopy(vma, start, old, unshare);
    } finally {
      for (Present p : old) {
        s.memory.put(p.pfn());
      }
      s.machine.hugetlb().releaseIfUnused(order, old[0].pfn());
    }
  }

  private void hugetlbCopy(Vma vma, long start, Present[] old, boolean unshare)
      throws ErrnoException {
    int order = vma.hugetlbOrder();
    HugetlbPool pool = s.machine.hugetlb();
    HugetlbPool.Page page = pool.alloc(order, vma.anonVma(), false);
    if (page == null) {
      throw new ErrnoException(
          Errno.EFAULT,
          "SIGBUS: no free hugetlb page of order "
              + order
              + " to copy 0x"
              + Long.toHexString(start)
              + " into");
    }
    int n = 1 << order;
    for (int i = 0; i < n; i++) {
      s.memory.get(page.head() + i);
      s.memory.copy(old[i].pfn(), page.head() + i);
    }
    boolean[] replaced = {false};
    s.invalidate(
        MmuNotifierRange.of(s.mm, MmuNotifierEvent.CLEAR, start, start + vma.hugetlbSize()),
        "hugetlb cow",
        null,
        d -> {
          for (int i = 0; i < n; i++) {
            if (!old[i].equals(s.pt.get(start + ((long) i << SimMm.PAGE_SHIFT)))) {
              return;
            }
          }
          for (int i = 0; i < n; i++) {
            long va = start + ((long) i << SimMm.PAGE_SHIFT);
            s.release(vma, va, old[i], d);
            s.pt.set(
                va,
                new Present(
                    page.head() + i,
                    PageKind.ANON,
                    !unshare,
                    !unshare,
                    true,
                    false,
                    false,
                    true,
                    order));
          }
          replaced[0] = true;
        });
    if (!replaced[0]) {
      for (int i = 0; i < n; i++) {
        s.memory.put(page.head() + i);
      }
      pool.cancel(order, page, vma.anonVma());
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Non-present entries

  private void swapIn(Vma vma, long va, Pte.Swap sw, boolean write) throws ErrnoException {
    long pfn = s.machine.swap().swapIn(sw.slot(), s.owner("swap-in", va));
    boolean installed = false;
    SpinLock ptl = s.pt.ptl();
    ptl.lock();
    try {
      if (sw.equals(s.pt.get(va))) {
        boolean writable = sw.exclusive() && vma.isWritable();
        s.pt.set(
            va,
            new Present(
                pfn,
                PageKind.ANON,
                writable,
                write && writable,
                sw.exclusive(),
                false,
                false,
                false));
        installed = true;
      }
    } finally {
      ptl.unlock();
    }
    if (installed) {
      vma.anonVma().set(true);
      s.machine.swap().free(sw.slot());
    } else {
      s.memory.put(pfn);
    }
  }

  /** Kernel {@code remove_device_exclusive_entry}: CLEAR of the page, original entry back. */
  private void restoreExclusive(Vma vma, long va, Pte.DeviceExclusive x) {
    s.invalidate(
        MmuNotifierRange.of(s.mm, MmuNotifierEvent.CLEAR, va, va + SimMm.PAGE_SIZE),
        "restore device-exclusive",
        null,
        d -> {
          if (x.equals(s.pt.get(va))) {
            boolean w = x.writable() && vma.isWritable();
            s.pt.set(
                va,
                new Present(x.pfn(), PageKind.ANON, w, w || x.dirty(), true, false, false, false));
          }
        });
  }

  // ---------------------------------------------------------------------------------------------

  private boolean installIfNone(long va, Present p) {
    SpinLock ptl = s.pt.ptl();
    ptl.lock();
    try {
      if (s.pt.get(va) != null) {
        return false;
      }
      s.pt.set(va, p);
      return true;
    } finally {
      ptl.unlock();
    }
  }

  private void replaceIfSame(long va, Pte expected, Pte replacement) {
    SpinLock ptl = s.pt.ptl();
    ptl.lock();
    try {
      if (expected.equals(s.pt.get(va))) {
        s.pt.set(va, replacement);
      }
    } finally {
      ptl.unlock();
    }
  }

  static ErrnoException segv(long va, String why) {
    return new ErrnoException(Errno.EFAULT, "SIGSEGV at 0x" + Long.toHexString(va) + ": " + why);
  }
}
