package io.mmulab.cli;

import com.google.inject.AbstractModule;
import com.google.inject.Module;
import com.google.inject.multibindings.MapBinder;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverFamily;
import io.mmulab.api.driver.DriverPlugin;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.Machine;
import io.mmulab.api.driver.UserProcess;
import io.mmulab.testkit.dmirror.DmirrorFactory;
import java.util.List;
import java.util.Set;

/**
 * A driver for the CLI's tests only, found through this module's test resources: its "consolidated"
 * variant is dmirror's legacy port, so its races count as violations of a consolidated variant.
 */
public final class BrokenMirrorPlugin implements DriverPlugin {
  static final String NAME = "broken-mirror";

  @Override
  public Module module() {
    return new AbstractModule() {
      @Override
      protected void configure() {
        MapBinder.newMapBinder(binder(), String.class, DriverFactory.class)
            .addBinding(NAME)
            .toInstance(new Factory());
      }
    };
  }

  private static final class Factory implements DriverFactory {
    private final DmirrorFactory dmirror = new DmirrorFactory();

    @Override
    public String name() {
      return NAME;
    }

    @Override
    public DriverFamily family() {
      return DriverFamily.TEST;
    }

    @Override
    public CoherencyModel model() {
      return CoherencyModel.SHADOW_PTE;
    }

    @Override
    public Set<DriverVariant> variants() {
      return Set.of(DriverVariant.CONSOLIDATED);
    }

    @Override
    public List<DeclaredRace> declaredRaces(DriverVariant variant) {
      if (variant != DriverVariant.CONSOLIDATED) {
        throw new IllegalArgumentException(NAME + " has only a consolidated variant");
      }
      return List.of();
    }

    @Override
    public DriverAdapter create(DriverVariant variant, UserProcess process, Machine machine)
        throws ErrnoException {
      declaredRaces(variant);
      return dmirror.create(DriverVariant.LEGACY, process, machine);
    }
  }
}
