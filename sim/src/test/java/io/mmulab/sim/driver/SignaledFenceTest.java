package io.mmulab.sim.driver;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import org.junit.jupiter.api.Test;

class SignaledFenceTest {
  @Test
  void ok_isSignaledWithoutError_andNeverWaits() {
    assertThat(SignaledFence.OK.isSignaled()).isTrue();
    assertThat(SignaledFence.OK.waitTimeout(0)).isTrue();
    assertThat(SignaledFence.OK.error()).isNull();
  }

  @Test
  void of_carriesTheJobsError() {
    ErrnoException e = new ErrnoException(Errno.EFAULT, "gone");

    assertThat(SignaledFence.of(null)).isSameAs(SignaledFence.OK);
    assertThat(SignaledFence.of(e).error()).isSameAs(e);
    assertThat(SignaledFence.of(e).isSignaled()).isTrue();
  }

  @Test
  void completed_ofTheSharedAdapter_isASignaledFence() {
    assertThat(SimDriverAdapter.completed(null)).isSameAs(SignaledFence.OK);
  }
}
