package io.mmulab.testkit.dmirror;

import static io.mmulab.testkit.dmirror.DmirrorFixture.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.sim.mm.OomReaper;
import io.mmulab.sim.mm.PteView;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Non-blockable invalidations (the OOM reaper): the callback only try-locks (docs/dmirror.md, "The
 * subscription").
 */
class DmirrorNonBlockingTest {
  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void oomReap_whileTheMutexIsHeld_isRefusedThenSucceeds(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.filled(2);
      run(m, DmirrorCommand.READ, a, 2);
      CountDownLatch held = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      ThreadHandle holder =
          f.rt.spawn(
              "holder",
              () -> {
                m.mutex().lock();
                try {
                  held.countDown();
                  release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                } finally {
                  m.mutex().unlock();
                }
              });
      assertThat(held.await(10, TimeUnit.SECONDS)).isTrue();
      assertThat(new OomReaper(2, 0).reap(f.proc)).as("gave up: EAGAIN twice").isZero();
      assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.PRESENT);
      release.countDown();
      holder.join();
      assertThat(m.mappedPages()).isEqualTo(2); // the refused windows changed nothing
      assertThat(new OomReaper(2, 0).reap(f.proc)).isEqualTo(1);
      assertThat(m.mappedPages()).isZero();
      assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.NONE);
    }
  }
}
