package io.mmulab.api.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class DriverCountersTest {
  @Test
  void minus_ofAnEarlierSnapshot_isWhatHappenedInBetween() {
    DriverCounters earlier = new DriverCounters(1, 2, 3, 1, 5, 4);
    DriverCounters later = new DriverCounters(4, 2, 10, 2, 9, 9);

    assertThat(later.minus(earlier)).isEqualTo(new DriverCounters(3, 0, 7, 1, 4, 5));
    assertThat(later.minus(DriverCounters.ZERO)).isEqualTo(later);
  }

  @Test
  void minus_ofALaterSnapshot_namesTheCountThatWentBack() {
    DriverCounters earlier = new DriverCounters(1, 2, 3, 1, 5, 4);
    DriverCounters later = new DriverCounters(1, 1, 3, 1, 5, 4);

    assertThatThrownBy(() -> later.minus(earlier))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("retries is -1");
  }

  @Test
  void constructor_negativeCount_isRejectedByName() {
    assertThatThrownBy(() -> new DriverCounters(0, 0, 0, 0, 0, -2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unpinned is -2");
  }
}
