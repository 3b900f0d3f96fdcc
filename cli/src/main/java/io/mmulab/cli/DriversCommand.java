package io.mmulab.cli;

import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverVariant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code mmulab drivers}: the discovered drivers with family, model, variants and races. */
@Command(
    name = "drivers",
    mixinStandardHelpOptions = true,
    description =
        "Lists the drivers, built in or loaded from plugin jars (--plugins, $MMULAB_PLUGINS,"
            + " the plugins folder beside mmulab.jar): family, coherency model, variants and the"
            + " races each variant declares.")
final class DriversCommand implements Runnable {
  @Spec private CommandSpec spec;

  @Override
  public void run() {
    List<DriverFactory> drivers = Catalog.load().drivers();
    TextTable t = new TextTable("DRIVER", "FAMILY", "MODEL", "VARIANTS", "DECLARED RACES");
    for (DriverFactory f : drivers) {
      List<String> races = new ArrayList<>();
      for (DriverVariant v : Catalog.variants(f)) {
        for (DeclaredRace r : f.declaredRaces(v)) {
          races.add(
              Catalog.name(v)
                  + ": "
                  + r.name()
                  + " ("
                  + String.join(", ", r.scenarios())
                  + "; "
                  + kinds(r)
                  + ")");
        }
      }
      t.add(
          f.name(),
          f.family().toString(),
          f.model().toString(),
          Catalog.variants(f).stream().map(Catalog::name).collect(Collectors.joining(", ")),
          races.isEmpty() ? "none" : String.join("\n", races));
    }
    spec.commandLine().getOut().print(t.render());
    spec.commandLine().getOut().println(drivers.size() + " driver(s)");
  }

  private static String kinds(DeclaredRace r) {
    return r.kinds().stream().map(Enum::name).sorted().collect(Collectors.joining(", "));
  }
}
