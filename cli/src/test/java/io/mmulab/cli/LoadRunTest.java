package io.mmulab.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverFamily;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.Machine;
import io.mmulab.api.driver.UserProcess;
import io.mmulab.testkit.Drivers;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LoadRunTest {
  @Test
  void load_ofDmirrorConsolidated_countsFaultsInvalidationsAndStaysClean() {
    LoadResult r = new LoadRun(Drivers.load().get("dmirror"), Duration.ofMillis(300), 1).run();
    assertThat(r.errors()).isEmpty();
    assertThat(r.violationCount()).as("%s", r.violations()).isZero();
    assertThat(r.problems()).isEmpty();
    assertThat(r.seconds()).isGreaterThan(0.2);
    assertThat(r.deviceOps()).isPositive();
    assertThat(r.cpuOps()).isPositive();
    // every CPU step munmaps, mprotects or discards a page the driver's subscription covers
    assertThat(r.counters().invalidations()).isGreaterThanOrEqualTo(r.cpuOps());
    assertThat(r.counters().faults()).isPositive();
    assertThat(r.faultsPerSecond()).isPositive();
    assertThat(r.invalidationsPerSecond()).isPositive();
  }

  @Test
  void load_columns_areTheAdaptersOwnCountsOverTheLoad() {
    Capturing factory = new Capturing(Drivers.load().get("dmirror"));

    LoadResult r = new LoadRun(factory, Duration.ofMillis(300), 2).run();

    assertThat(r.errors()).isEmpty();
    assertThat(factory.adapters).hasSize(1);
    // dmirror counts nothing at open or teardown and no callback reaches it once it is torn down,
    // so what its adapter reports now is exactly what it counted during the load.
    assertThat(r.counters()).isEqualTo(factory.adapters.get(0).counters());
    assertThat(r.counters().faults()).isPositive();
    assertThat(r.retries()).isEqualTo(r.counters().retries());
    assertThat(r.faultsPerSecond()).isEqualTo(Math.round(r.counters().faults() / r.seconds()));
    assertThat(r.invalidationsPerSecond())
        .isEqualTo(Math.round(r.counters().invalidations() / r.seconds()));
  }

  /** A driver that keeps the adapters it creates, to read their counters after the load. */
  private static final class Capturing implements DriverFactory {
    private final DriverFactory driver;
    final List<DriverAdapter> adapters = new ArrayList<>();

    Capturing(DriverFactory driver) {
      this.driver = driver;
    }

    @Override
    public String name() {
      return driver.name();
    }

    @Override
    public DriverFamily family() {
      return driver.family();
    }

    @Override
    public CoherencyModel model() {
      return driver.model();
    }

    @Override
    public Set<DriverVariant> variants() {
      return driver.variants();
    }

    @Override
    public List<DeclaredRace> declaredRaces(DriverVariant variant) {
      return driver.declaredRaces(variant);
    }

    @Override
    public DriverAdapter create(DriverVariant variant, UserProcess process, Machine machine)
        throws ErrnoException {
      DriverAdapter a = driver.create(variant, process, machine);
      adapters.add(a);
      return a;
    }
  }
}
