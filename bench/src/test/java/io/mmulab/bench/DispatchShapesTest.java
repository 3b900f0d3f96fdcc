package io.mmulab.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DispatchShapesTest {

  private static void assertSameHits(int n, int drivers) {
    DispatchLayout layout = DispatchLayout.create(n, drivers, DispatchLayout.DEFAULT_SEED);
    DispatchShapes.Shape[] shapes = {
      new DispatchShapes.Consolidated(layout),
      new DispatchShapes.LegacyList(layout),
      new DispatchShapes.LegacyTrees(layout),
    };
    long total = 0;
    for (int k = 0; k < DispatchLayout.INVALIDATIONS; k++) {
      long expected = layout.expectedHits(k);
      total += expected;
      for (DispatchShapes.Shape shape : shapes) {
        long before = shape.hits();
        shape.invalidate(k);
        assertThat(shape.hits() - before)
            .as("%s invalidation %d", shape.getClass().getSimpleName(), k)
            .isEqualTo(expected);
      }
    }
    assertThat(total).as("the invalidations hit something").isPositive();
    for (DispatchShapes.Shape shape : shapes) {
      shape.mm().notifierSubscriptions().checkConsistency();
      assertThat(shape.mm().notifierSubscriptions().activeInvalidateRanges()).isZero();
      assertThat(shape.mm().warnings()).isEmpty();
    }
  }

  @Test
  void allShapes_oneDriver_sameHitsAsTheLayout() {
    assertSameHits(1000, 1);
  }

  @Test
  void allShapes_eightDrivers_sameHitsAsTheLayout() {
    assertSameHits(1000, 8);
  }

  @Test
  void layout_sameSeed_sameLayout() {
    DispatchLayout a = DispatchLayout.create(500, 8, 42);
    DispatchLayout b = DispatchLayout.create(500, 8, 42);

    assertThat(a.start).isEqualTo(b.start);
    assertThat(a.length).isEqualTo(b.length);
    assertThat(a.driver).isEqualTo(b.driver);
    assertThat(a.invStart).isEqualTo(b.invStart);
    assertThat(a.invEnd).isEqualTo(b.invEnd);
  }

  @Test
  void layout_subscriptionsStayInTheirSlots() {
    DispatchLayout layout = DispatchLayout.create(10_000, 8, DispatchLayout.DEFAULT_SEED);

    for (int i = 0; i < layout.size(); i++) {
      long slot = DispatchLayout.BASE + i * DispatchLayout.SLOT;
      assertThat(layout.start[i]).isBetween(slot, slot + DispatchLayout.SLOT - 1);
      assertThat(layout.start[i] + layout.length[i])
          .isLessThanOrEqualTo(slot + DispatchLayout.SLOT);
    }
  }

  @Test
  void consolidated_afterInvalidations_removesCleanly() {
    DispatchShapes.Consolidated shape =
        new DispatchShapes.Consolidated(DispatchLayout.create(200, 8, 1));
    for (int k = 0; k < 100; k++) {
      shape.invalidate(k);
    }

    shape.removeAll();

    assertThat(shape.mm().notifierSubscriptions().treeMembers()).isEmpty();
    assertThat(shape.mm().mmCount()).isEqualTo(1);
  }
}
