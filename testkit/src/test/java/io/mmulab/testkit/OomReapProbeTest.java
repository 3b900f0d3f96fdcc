package io.mmulab.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.driver.DriverVariant;
import io.mmulab.testkit.dmirror.DmirrorFactory;
import io.mmulab.testkit.tutorial.TutorialDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * dmirror only try-locks in a non-blockable callback (test_hmm.c), so the idle device is reaped:
 * the probe reports the reap, and a device that faults the pages in again reads zero-fill.
 */
class OomReapProbeTest {
  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void dmirror_idleDevice_isReapedAtTheFirstAttempt(DriverVariant variant) throws Exception {
    assertThat(OomReapProbe.run(new DmirrorFactory(), variant))
        .isEqualTo(OomReapProbe.Result.reapedAtOnce());
  }

  @Test
  void aVariantTheDriverDoesNotOffer_isRejectedByName() {
    assertThatThrownBy(() -> OomReapProbe.run(new TutorialDriver(), DriverVariant.AS_MERGED))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("AS_MERGED");
  }
}
