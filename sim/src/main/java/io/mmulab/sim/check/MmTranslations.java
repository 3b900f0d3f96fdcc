package io.mmulab.sim.check;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * One device's translations of one address space: the live one of each page, and the retired ones
 * (replaced or unmapped) that a device TLB may still hold.
 */
final class MmTranslations {
  private final TreeMap<Long, Translation> live = new TreeMap<>();

  /** Page -> frame -> the latest retired translation of that page to that frame. */
  private final TreeMap<Long, Map<Long, Translation>> retired = new TreeMap<>();

  /** Makes {@code t} the live translation of its page, retiring the one it replaces. */
  void map(Translation t, long now) {
    Translation old = live.put(t.vpn(), t);
    if (old != null) {
      retire(old, now);
    }
  }

  /** Retires the live translations of pages {@code firstVpn..lastVpn}. */
  void unmap(long firstVpn, long lastVpn, long now) {
    Iterator<Translation> it = live.subMap(firstVpn, true, lastVpn, true).values().iterator();
    while (it.hasNext()) {
      Translation t = it.next();
      it.remove();
      retire(t, now);
    }
  }

  /**
   * Marks every live and retired translation of pages {@code firstVpn..lastVpn} that the callback
   * of {@code by} protects invalidated.
   */
  void invalidate(long firstVpn, long lastVpn, long now, @Nullable String by) {
    for (Translation t : live.subMap(firstVpn, true, lastVpn, true).values()) {
      t.invalidate(now, by);
    }
    for (Map<Long, Translation> byPfn : retired.subMap(firstVpn, true, lastVpn, true).values()) {
      for (Translation t : byPfn.values()) {
        t.invalidate(now, by);
      }
    }
  }

  /** The live translation of the page, or null. */
  @Nullable Translation live(long vpn) {
    return live.get(vpn);
  }

  /** The translation of the page to the frame, live or else retired, or null. */
  @Nullable Translation lookup(long vpn, long pfn) {
    Translation t = live.get(vpn);
    if (t != null && t.pfn == pfn) {
      return t;
    }
    Map<Long, Translation> byPfn = retired.get(vpn);
    return byPfn == null ? null : byPfn.get(pfn);
  }

  private void retire(Translation t, long now) {
    t.unmappedTick = now;
    retired.computeIfAbsent(t.vpn(), k -> new HashMap<>()).put(t.pfn, t);
  }
}
