package io.mmulab.api.hmm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HmmPfnLayoutTest {
  @Test
  void mainline_matchesKernelBitPositions() {
    HmmPfnLayout l = HmmPfnLayout.MAINLINE;
    assertThat(l.orderShift()).isEqualTo(53);
    assertThat(l.flagsMask()).isEqualTo(0xFFE0_0000_0000_0000L);
    assertThat(l.stickyMask()).isEqualTo(0x1C00_0000_0000_0000L);
    assertThat(HmmPfnLayout.VALID).isEqualTo(HmmPfnLayout.REQ_FAULT).isEqualTo(1L << 63);
    assertThat(HmmPfnLayout.WRITE).isEqualTo(HmmPfnLayout.REQ_WRITE).isEqualTo(1L << 62);
  }

  @Test
  void v510_hasNoStickyBitsAndOrderAt56() {
    HmmPfnLayout l = HmmPfnLayout.V5_10;
    assertThat(l.flagsMask()).isEqualTo(0xFF00_0000_0000_0000L);
    assertThat(l.stickyMask()).isZero();
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 9, 18, 31})
  void encode_roundTripsPfnOrderAndFlags(int order) {
    for (HmmPfnLayout l : new HmmPfnLayout[] {HmmPfnLayout.MAINLINE, HmmPfnLayout.V5_10}) {
      long pfn = l.pfnMask() - 7;
      long e = l.encode(pfn, HmmPfnLayout.VALID | HmmPfnLayout.WRITE, order);
      assertThat(l.pfn(e)).isEqualTo(pfn);
      assertThat(l.order(e)).isEqualTo(order);
      assertThat(e & HmmPfnLayout.VALID).isNotZero();
      assertThat(e & HmmPfnLayout.ERROR).isZero();
    }
  }

  @Test
  void encode_rejectsPfnOrOrderThatDoesNotFit() {
    HmmPfnLayout l = HmmPfnLayout.MAINLINE;
    assertThatThrownBy(() -> l.encode(1L << 53, 0, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("0x20000000000000");
    assertThatThrownBy(() -> l.encode(1, 0, 32))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("order 32");
  }

  @Test
  void layout_rejectsOrderFieldOverlappingFlags() {
    assertThatThrownBy(() -> new HmmPfnLayout(56, true))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("56");
    assertThatThrownBy(() -> new HmmPfnLayout(57, false))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("57");
  }
}
