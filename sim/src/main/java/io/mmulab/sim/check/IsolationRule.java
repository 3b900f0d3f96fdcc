package io.mmulab.sim.check;

import io.mmulab.api.driver.ViolationKind;

/**
 * {@link ViolationKind#ISOLATION}: a device behind an IOMMU (after {@code attachDomain} or its
 * first {@code domainMap}) reaches only frames mapped in its domain. Checked at {@code
 * deviceAccess}.
 */
final class IsolationRule {
  private final EventLog log;

  IsolationRule(EventLog log) {
    this.log = log;
  }

  void checkAccess(Device d, String mm, long va, long pfn) {
    if (d.domain != null && d.domain.generationsOf(pfn) == null) {
      log.violation(
          ViolationKind.ISOLATION,
          d.id,
          mm,
          va,
          pfn,
          "accesses frame " + pfn + ", which is not mapped in its IOMMU domain");
    }
  }
}
