package io.mmulab.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverFamily;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.Machine;
import io.mmulab.api.driver.UserProcess;
import io.mmulab.testkit.PlantedBugDriver.Bug;
import io.mmulab.testkit.scenario.ScenarioRunner;
import io.mmulab.testkit.scenario.Scenarios;
import io.mmulab.testkit.tutorial.TutorialDriver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.AssertionFailedError;

/** {@code -Dmmulab.replay}: one run, nothing else; and the replay command failures print. */
class SeedReplayTest {
  private static final ReplayCommand COMMAND = new ReplayCommand("MyTest", "drivers/mine");

  @Test
  void replay_runsExactlyOneRun_ofThatSeed_andNothingElse() throws Throwable {
    Counting counting = new Counting(new TutorialDriver());
    new ScenarioRunner(counting, DriverVariant.LEGACY)
        .run(Scenarios.byName(Scenarios.OVERLAPPING_INVALIDATIONS), 7);
    int devicesOfOneRun = counting.created.getAndSet(0);
    ConformanceReport report = new ConformanceReport();

    List<DynamicNode> nodes =
        ConformanceTests.replay(
                counting,
                SeedReplay.parse("legacy:" + Scenarios.OVERLAPPING_INVALIDATIONS + ":7"),
                report,
                COMMAND)
            .toList();
    ((DynamicTest) nodes.get(0)).getExecutable().execute();

    assertThat(nodes).hasSize(1);
    assertThat(counting.created).hasValue(devicesOfOneRun);
    assertThat(report.scenarios())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.firstSeed()).isEqualTo(7);
              assertThat(r.seedsRun()).isEqualTo(1);
              assertThat(r.variant()).isEqualTo(DriverVariant.LEGACY);
            });
    assertThat(report.races()).isEmpty();
    assertThat(report.stress()).isEmpty();
  }

  @Test
  void replay_ofAnUndeclaredFailure_failsPrintingTheSeedOnlyCommand() {
    PlantedBugDriver bug = new PlantedBugDriver(Bug.NO_READ_RETRY);
    UndeclaredFailure found =
        new ConformanceRunner(ConformanceOptions.defaults().withSeeds(1, 60).withShrinkAttempts(0))
            .run(bug, DriverVariant.CONSOLIDATED, Scenarios.byName(Scenarios.MUNMAP_VS_FAULT))
            .failure()
            .orElseThrow();
    SeedReplay replay = SeedReplay.of(found.verdict().run());
    DynamicTest test =
        (DynamicTest)
            ConformanceTests.replay(bug, replay, new ConformanceReport(), COMMAND).toList().get(0);

    assertThatThrownBy(() -> test.getExecutable().execute())
        .isInstanceOf(AssertionFailedError.class)
        .hasMessageContaining(
            "undeclared "
                + found.verdict().undeclared().get(0).kind()
                + " by planted-no-read-retry")
        .hasMessageContaining(
            "replay: mvn -B test -pl drivers/mine -am -Dsurefire.failIfNoSpecifiedTests=false"
                + " -Dtest=MyTest -Dmmulab.replay=CONSOLIDATED:munmap-vs-fault:"
                + found.seed());
    assertThat(found.message(COMMAND))
        .contains("-Dtest=MyTest " + replay.property())
        .contains("-Dmmulab.seed=" + found.seed() + " -Dmmulab.seeds=1");
  }

  @Test
  void replay_ofAVariantTheDriverLacks_failsNamingIt() {
    DynamicTest test =
        (DynamicTest)
            ConformanceTests.replay(
                    new TutorialDriver(),
                    SeedReplay.parse("as_merged:munmap-vs-fault:1"),
                    new ConformanceReport(),
                    COMMAND)
                .toList()
                .get(0);

    assertThatThrownBy(() -> test.getExecutable().execute())
        .hasMessageContaining("has no variant AS_MERGED");
  }

  @Test
  void parse_rejectsBadValues_namingTheProperty() {
    assertThat(SeedReplay.parse(" Consolidated : munmap-vs-fault : 12 "))
        .isEqualTo(new SeedReplay(DriverVariant.CONSOLIDATED, "munmap-vs-fault", 12));
    assertThatThrownBy(() -> SeedReplay.parse("legacy:munmap-vs-fault"))
        .hasMessageStartingWith("-Dmmulab.replay=legacy:munmap-vs-fault: expected");
    assertThatThrownBy(() -> SeedReplay.parse("old:munmap-vs-fault:1"))
        .hasMessageContaining("no variant old");
    assertThatThrownBy(() -> SeedReplay.parse("legacy:nope:1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("nope");
    assertThatThrownBy(() -> SeedReplay.parse("legacy:munmap-vs-fault:x"))
        .hasMessageContaining("x is not a seed");
  }

  @Test
  void command_namesTheModuleRelativeToTheRootPom(@TempDir Path root) throws Exception {
    Path module = Files.createDirectories(root.resolve("drivers-gpu/mine"));
    Files.writeString(root.resolve("pom.xml"), "<project/>"); // drivers-gpu has none
    Files.writeString(module.resolve("pom.xml"), "<project/>");

    assertThat(ReplayCommand.moduleOf(module)).isEqualTo("drivers-gpu/mine");
    assertThat(ReplayCommand.moduleOf(root)).isEmpty();
    assertThat(new ReplayCommand("T", "").line("-Dx=1"))
        .isEqualTo("mvn -B test -Dsurefire.failIfNoSpecifiedTests=false -Dtest=T -Dx=1");
  }

  @Test
  void here_findsThisTestClass_inThisModule() {
    assertThat(ReplayCommand.here()).isEqualTo(new ReplayCommand("SeedReplayTest", "testkit"));
  }

  /** Counts the devices a driver opens. */
  private record Counting(DriverFactory driver, AtomicInteger created) implements DriverFactory {
    Counting(DriverFactory driver) {
      this(driver, new AtomicInteger());
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
      created.incrementAndGet();
      return driver.create(variant, process, machine);
    }
  }
}
