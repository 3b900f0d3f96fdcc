package io.mmulab.driver.hfi1;

import io.mmulab.sim.check.Violation;

/**
 * Tells which declared race a checker violation of an hfi1 run shows, from the half of the chip
 * that made the access and the rule's wording: a use of an entry that a callback invalidated before
 * the operation began (the entry was kept: notify only, or an SDMA node in use) or of an entry made
 * after the CPU entry had already changed (its insert missed the invalidation).
 */
final class Hfi1Races {
  private Hfi1Races() {}

  /** The race's name, or {@code "other"} for a violation none of them explains. */
  static String classify(Violation v) {
    if (v.deviceId() == null) {
      return "other";
    }
    boolean kept = v.message().contains(", invalidated at #");
    boolean missed = v.message().contains("but the CPU entry");
    if (v.deviceId().endsWith(".rcv")) {
      return kept
          ? Hfi1Factory.TID_NOTIFY_ONLY.name()
          : missed ? Hfi1Factory.TID_PIN_BEFORE_INSERT.name() : "other";
    }
    if (v.deviceId().endsWith(".sdma")) {
      return kept
          ? Hfi1Factory.SDMA_IN_USE_NODE.name()
          : missed ? Hfi1Factory.SDMA_PIN_BEFORE_INSERT.name() : "other";
    }
    return "other";
  }
}
