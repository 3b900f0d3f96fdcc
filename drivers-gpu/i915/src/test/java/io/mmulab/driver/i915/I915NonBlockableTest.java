package io.mmulab.driver.i915;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.driver.DriverVariant;
import io.mmulab.testkit.OomReapProbe;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The OOM reaper against an idle device. Both variants refuse a non-blockable range that holds a
 * userptr object — legacy's classic callback answers {@code -EAGAIN} at the first intersecting
 * object, the v5.13 interval callback returns false — so the reaper gives up on that VMA and the
 * GPU keeps its binding; a VMA with no object is reaped. The refusals leave everything consistent:
 * a later munmap still reaches the driver.
 */
class I915NonBlockableTest {
  @ParameterizedTest
  @EnumSource(names = {"LEGACY", "CONSOLIDATED"})
  void oomReap_refusesTheObjectsRange_reapsTheRest(DriverVariant variant) throws Exception {
    assertThat(OomReapProbe.run(new I915Factory(), variant))
        .isEqualTo(OomReapProbe.Result.gaveUpOnTheUsedVma());
  }
}
