package io.mmulab.sim.check;

import io.mmulab.api.driver.CoherencyModel;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * One device (translation context) as the checker sees it: its model, subscriptions, translations
 * per address space, IOMMU domain and whether it was torn down.
 */
final class Device {
  final String id;
  final CoherencyModel model;
  boolean tornDown;
  long tornDownTick;
  boolean allSubsRemoved;
  long allSubsRemovedTick;
  final Map<String, Subscription> subs = new LinkedHashMap<>();
  private final Map<String, MmTranslations> mms = new HashMap<>();

  /** Null without an IOMMU. */
  @Nullable IommuMappings domain;

  Device(String id, CoherencyModel model) {
    this.id = id;
    this.model = model;
  }

  /** Makes {@code t} the live translation of its page, retiring the one it replaces. */
  void map(Translation t, long now) {
    mms.computeIfAbsent(t.mm, k -> new MmTranslations()).map(t, now);
  }

  /** Retires the live translations of pages {@code firstVpn..lastVpn} of the address space. */
  void unmap(String mm, long firstVpn, long lastVpn, long now) {
    MmTranslations m = mms.get(mm);
    if (m != null) {
      m.unmap(firstVpn, lastVpn, now);
    }
  }

  /**
   * Marks every translation of pages {@code firstVpn..lastVpn} of the address space that the
   * callback of subscription {@code by} protects invalidated (see {@link
   * Translation#subscription}).
   */
  void invalidate(String mm, long firstVpn, long lastVpn, long now, @Nullable String by) {
    MmTranslations m = mms.get(mm);
    if (m != null) {
      m.invalidate(firstVpn, lastVpn, now, by);
    }
  }

  /** The translation of the page to the frame, live or else retired, or null. */
  @Nullable Translation lookup(String mm, long vpn, long pfn) {
    MmTranslations m = mms.get(mm);
    return m == null ? null : m.lookup(vpn, pfn);
  }

  /**
   * The live translation of the page to the frame, if no callback invalidated it: the device may
   * use it at any moment.
   */
  @Nullable Translation liveUninvalidated(String mm, long vpn, long pfn) {
    MmTranslations m = mms.get(mm);
    Translation t = m == null ? null : m.live(vpn);
    return t == null || t.invalidatedTick != 0 || t.pfn != pfn ? null : t;
  }

  void insertSubscription(String name, String mm, long start, long endExclusive) {
    subs.put(name, new Subscription(name, mm, start, endExclusive));
    allSubsRemoved = false;
  }

  void removeSubscription(String name, long now) {
    subs.computeIfAbsent(name, k -> new Subscription(k, null, 0, 0)).markRemoved(now);
  }

  void removeAllSubscriptions(long now) {
    allSubsRemoved = true;
    allSubsRemovedTick = now;
    for (Subscription s : subs.values()) {
      s.markRemoved(now);
    }
  }

  void tearDown(long now) {
    tornDown = true;
    tornDownTick = now;
  }

  IommuMappings attachDomain() {
    if (domain == null) {
      domain = new IommuMappings();
    }
    return domain;
  }
}
