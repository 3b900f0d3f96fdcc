package io.mmulab.driver.radeon;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.driver.DriverVariant;
import io.mmulab.testkit.OomReapProbe;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The OOM reaper against an idle device. Every variant refuses a non-blockable range that holds a
 * bound BO — legacy's classic callback answers {@code -EAGAIN} at the first node the range hits,
 * the 5.5 interval callback returns false for a bound BO, and so does the consolidated one after
 * {@code set_seq} — so the reaper gives up on that VMA and the GART keeps its binding; a VMA with
 * no BO is reaped. The refusals leave everything consistent: a later munmap still reaches the
 * driver.
 */
class RadeonNonBlockableTest {
  @ParameterizedTest
  @EnumSource(names = {"LEGACY", "AS_MERGED", "CONSOLIDATED"})
  void oomReap_refusesTheBosRange_reapsTheRest(DriverVariant variant) throws Exception {
    assertThat(OomReapProbe.run(new RadeonFactory(), variant))
        .isEqualTo(OomReapProbe.Result.gaveUpOnTheUsedVma());
  }
}
