package io.mmulab.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SeedRangeTest {
  @Test
  void parse_range_isInclusive() {
    SeedRange r = SeedRange.parse("3..7");
    assertThat(r).isEqualTo(new SeedRange(3, 7));
    assertThat(r.count()).isEqualTo(5);
    assertThat(r.seeds()).containsExactly(3L, 4L, 5L, 6L, 7L);
    assertThat(r).hasToString("3..7");
  }

  @Test
  void parse_singleSeed_isARangeOfOne() {
    assertThat(SeedRange.parse("42")).isEqualTo(new SeedRange(42, 42));
    assertThat(SeedRange.parse("5..5")).hasToString("5");
  }

  @Test
  void parse_reversedRange_namesBothEnds() {
    assertThatThrownBy(() -> SeedRange.parse("5..2"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("invalid seed range '5..2': the first seed 5 is after the last 2");
  }

  @Test
  void parse_garbage_saysWhatIsExpected() {
    for (String bad : new String[] {"x..y", "1..", "..3", "-1..3", "1...3", "", "1..2..3"}) {
      assertThatThrownBy(() -> SeedRange.parse(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("expected A..B");
    }
  }
}
