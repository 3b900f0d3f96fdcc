package io.mmulab.api.hmm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.Mockito.mock;

import io.mmulab.api.MmuIntervalNotifier;
import org.junit.jupiter.api.Test;

class HmmRangeTest {
  private final MmuIntervalNotifier sub = mock(MmuIntervalNotifier.class);

  @Test
  void request_combinesMaskedInputWithDefaultsAndIgnoresStickyBits() {
    long[] pfns = {HmmPfnLayout.REQ_WRITE | HmmPfnLayout.DMA_MAPPED, 0};
    HmmRange r =
        new HmmRange(
            sub,
            1,
            0x1000,
            0x3000,
            pfns,
            HmmPfnLayout.REQ_FAULT,
            HmmPfnLayout.REQ_WRITE,
            null,
            HmmPfnLayout.MAINLINE);
    assertThat(r.request(0)).isEqualTo(HmmPfnLayout.REQ_FAULT | HmmPfnLayout.REQ_WRITE);
    assertThat(r.request(1)).isEqualTo(HmmPfnLayout.REQ_FAULT);
  }

  @Test
  void constructor_rejectsUnalignedEmptyOrMismatchedRanges() {
    assertThatThrownBy(() -> range(0x1001, 0x2000, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("0x1001");
    assertThatThrownBy(() -> range(0x2000, 0x2000, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not below");
    assertThatThrownBy(() -> range(0x1000, 0x3000, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1 entries for 2 pages");
  }

  private HmmRange range(long start, long end, int entries) {
    return new HmmRange(sub, 1, start, end, new long[entries], 0, 0, null, HmmPfnLayout.MAINLINE);
  }
}
