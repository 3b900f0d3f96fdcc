package io.mmulab.driver.nouveau;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.Errno;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.testkit.OomReapProbe;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The OOM reaper against an idle device. Both variants answer {@code -EAGAIN} to every
 * non-blockable range — the mirror's sync callback in v5.4, the whole-mm classic notifier after the
 * series — so the reaper gives up on every VMA of a process with an SVM client, even one the GPU
 * never touched, and the GPU PTEs stay. The refusals leave everything consistent: a later munmap
 * still clears them.
 */
class NouveauNonBlockableTest {
  @ParameterizedTest
  @EnumSource(names = {"LEGACY", "CONSOLIDATED"})
  void oomReap_refusesEveryRange(DriverVariant variant) throws Exception {
    OomReapProbe.Result r = OomReapProbe.run(new NouveauFactory(), variant);

    assertThat(r.reapAttempts()).as("gave up").isZero();
    assertThat(r.usedKept()).isTrue();
    assertThat(r.untouchedKept()).isTrue();
    assertThat(r.readsAfterReap()).isEqualTo(OomReapProbe.Result.initialValues());
    assertThat(r.readAfterMunmap()).isEqualTo(Errno.EFAULT);
    assertThat(r.violations()).isEmpty();
  }
}
