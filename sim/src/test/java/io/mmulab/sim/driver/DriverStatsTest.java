package io.mmulab.sim.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.driver.DriverCounters;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class DriverStatsTest {
  @Test
  void snapshot_ofFreshStats_isZero() {
    assertThat(new DriverStats().snapshot()).isEqualTo(DriverCounters.ZERO);
  }

  @Test
  void snapshot_afterEachKindOfEvent_countsEachInItsPlace() {
    DriverStats s = new DriverStats();
    s.fault();
    s.fault();
    s.retry();
    s.invalidation();
    s.invalidation();
    s.invalidation();
    s.refused();
    s.pinned(5);
    s.unpinned(2);
    s.unpinned(0);

    assertThat(s.snapshot()).isEqualTo(new DriverCounters(2, 1, 3, 1, 5, 2));
  }

  @Test
  void pinned_negativePages_isRejected() {
    DriverStats s = new DriverStats();

    assertThatThrownBy(() -> s.pinned(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("-1 pages");
    assertThatThrownBy(() -> s.unpinned(-3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("-3 pages");
  }

  @Test
  void snapshot_whileThreadsCount_isExactOnceTheyStop() throws InterruptedException {
    DriverStats s = new DriverStats();
    int threads = 4;
    int each = 10_000;
    List<Thread> started = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      Thread th =
          new Thread(
              () -> {
                for (int i = 0; i < each; i++) {
                  s.invalidation();
                  s.refused();
                  s.pinned(1);
                  s.unpinned(1);
                }
              });
      th.start();
      started.add(th);
    }
    DriverCounters previous = DriverCounters.ZERO;
    while (started.stream().anyMatch(Thread::isAlive)) {
      DriverCounters now = s.snapshot();
      assertThat(now.refused()).isLessThanOrEqualTo(now.invalidations());
      assertThat(now.unpinned()).isLessThanOrEqualTo(now.pinned());
      now.minus(previous); // throws if any count went back
      previous = now;
    }
    for (Thread th : started) {
      th.join();
    }

    long n = (long) threads * each;
    assertThat(s.snapshot()).isEqualTo(new DriverCounters(0, 0, n, n, n, n));
  }
}
