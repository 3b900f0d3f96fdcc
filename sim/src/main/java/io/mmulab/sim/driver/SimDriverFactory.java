package io.mmulab.sim.driver;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverFamily;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.Machine;
import io.mmulab.api.driver.UserProcess;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * What the factories of the simulated drivers share: name, family, model, the variants with their
 * declared races, and the rejection of a variant the driver does not have, in {@link
 * #declaredRaces} and {@link #create} alike. A subclass only opens a device context ({@link
 * #open}), for one of its variants, on the simulated machine. Stateless.
 */
public abstract class SimDriverFactory implements DriverFactory {
  private final String name;
  private final DriverFamily family;
  private final CoherencyModel model;
  private final Map<DriverVariant, List<DeclaredRace>> races;

  /**
   * Describes a driver.
   *
   * @param name its name
   * @param family the kind of hardware
   * @param model the coherency model
   * @param races the declared races of each variant it has (empty lists for none); must have {@link
   *     DriverVariant#CONSOLIDATED}, with no race
   * @throws IllegalArgumentException if {@code races} has no consolidated entry, or one with races
   */
  protected SimDriverFactory(
      String name,
      DriverFamily family,
      CoherencyModel model,
      Map<DriverVariant, List<DeclaredRace>> races) {
    this.name = Objects.requireNonNull(name, "name is null");
    this.family = Objects.requireNonNull(family, "family is null");
    this.model = Objects.requireNonNull(model, "model is null");
    List<DeclaredRace> consolidated = races.get(DriverVariant.CONSOLIDATED);
    if (consolidated == null || !consolidated.isEmpty()) {
      throw new IllegalArgumentException(
          name + ": the consolidated variant must exist and declare no race, not " + consolidated);
    }
    this.races = new EnumMap<>(DriverVariant.class);
    races.forEach((v, r) -> this.races.put(v, List.copyOf(r)));
  }

  @Override
  public final String name() {
    return name;
  }

  @Override
  public final DriverFamily family() {
    return family;
  }

  @Override
  public final CoherencyModel model() {
    return model;
  }

  @Override
  public final Set<DriverVariant> variants() {
    return EnumSet.copyOf(races.keySet());
  }

  @Override
  public final List<DeclaredRace> declaredRaces(DriverVariant variant) {
    List<DeclaredRace> r = races.get(Objects.requireNonNull(variant, "variant is null"));
    if (r == null) {
      throw unsupported(variant);
    }
    return r;
  }

  @Override
  public final DriverAdapter create(DriverVariant variant, UserProcess process, Machine machine)
      throws ErrnoException {
    declaredRaces(variant);
    return open(variant, SimProcess.of(process), SimMachine.of(machine));
  }

  /**
   * Opens a device context of the driver: the driver opens its device and subscribes to the
   * process's address space.
   *
   * @param variant one of {@link #variants()} (checked already)
   * @param process the process whose memory the device will access
   * @param machine the machine the process runs on
   * @return the adapter
   * @throws ErrnoException as the driver's open path would fail
   */
  protected abstract DriverAdapter open(
      DriverVariant variant, SimProcess process, SimMachine machine) throws ErrnoException;

  /**
   * Returns the error for a variant this driver does not have, naming the ones it has.
   *
   * @param variant the variant asked for
   * @return the error to throw
   */
  protected final IllegalArgumentException unsupported(DriverVariant variant) {
    return new IllegalArgumentException(
        name + " has no " + variant + " variant; it has " + races.keySet());
  }

  @Override
  public String toString() {
    return name;
  }
}
