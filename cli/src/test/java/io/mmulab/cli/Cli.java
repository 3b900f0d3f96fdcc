package io.mmulab.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.testkit.Drivers;
import io.mmulab.testkit.Verdict;
import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.ScenarioRunner;
import io.mmulab.testkit.scenario.Scenarios;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Runs the command line in this JVM and captures what it printed.
 *
 * @param code the exit code
 * @param out standard output
 * @param err standard error
 */
record Cli(int code, String out, String err) {
  /** Seeds searched for dmirror's first legacy race. */
  private static final int SEARCH = 300;

  private static Race race;

  static Cli run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(new PrintWriter(out), new PrintWriter(err), args);
    return new Cli(code, out.toString(), err.toString());
  }

  /**
   * Runs the command line as if its output went to a terminal, or not.
   *
   * @param terminal whether it does
   * @param args the arguments
   * @return what it printed
   */
  static Cli runOn(boolean terminal, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(new PrintWriter(out), new PrintWriter(err), terminal, args);
    return new Cli(code, out.toString(), err.toString());
  }

  /**
   * Where dmirror's legacy variant first shows its declared race in the race's first scenario, and
   * a seed of the same scenario where it shows none; found with the testkit directly, so tests
   * follow the driver.
   *
   * @param race the race
   * @param seed the first seed showing it
   * @param quietSeed a seed of the same scenario not showing it
   */
  record Race(DeclaredRace race, long seed, long quietSeed) {
    String scenario() {
      return race.scenarios().get(0);
    }
  }

  /**
   * Returns the simulated threads of the run that first shows dmirror's legacy race: the lanes its
   * timeline must have.
   *
   * @return thread names in order of appearance
   */
  static Set<String> raceThreads() {
    Race r = dmirrorRace();
    ScenarioRun run =
        new ScenarioRunner(Drivers.load().get("dmirror"), DriverVariant.LEGACY)
            .run(Scenarios.byName(r.scenario()), r.seed());
    Set<String> threads = new LinkedHashSet<>();
    run.result().trace().entries().forEach(e -> threads.add(e.thread()));
    return threads;
  }

  /**
   * Asserts that an HTML page draws a lane for each of {@code threads}.
   *
   * @param html the page
   * @param threads the thread names
   */
  static void assertLanes(String html, Set<String> threads) {
    assertThat(threads).hasSizeGreaterThan(1);
    for (String t : threads) {
      assertThat(html).containsPattern("class=\"lane-title\"[^>]*>" + Pattern.quote(t) + " · ");
    }
  }

  static synchronized Race dmirrorRace() {
    if (race == null) {
      DriverFactory f = Drivers.load().get("dmirror");
      DeclaredRace r = f.declaredRaces(DriverVariant.LEGACY).get(0);
      ScenarioRunner runner = new ScenarioRunner(f, DriverVariant.LEGACY);
      long first = -1;
      long quiet = -1;
      for (long seed = 1; seed <= SEARCH && (first < 0 || quiet < 0); seed++) {
        ScenarioRun run = runner.run(Scenarios.byName(r.scenarios().get(0)), seed);
        if (Verdict.of(run, f.declaredRaces(DriverVariant.LEGACY)).shows(r)) {
          first = first < 0 ? seed : first;
        } else if (quiet < 0) {
          quiet = seed;
        }
      }
      if (first < 0 || quiet < 0) {
        throw new AssertionError(r + ": no seed in 1.." + SEARCH + " shows it, or none is quiet");
      }
      race = new Race(r, first, quiet);
    }
    return race;
  }
}
