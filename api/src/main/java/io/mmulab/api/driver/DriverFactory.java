package io.mmulab.api.driver;

import io.mmulab.api.ErrnoException;
import java.util.List;
import java.util.Set;

/** Describes one ported driver and creates its adapters. One instance per driver, stateless. */
public interface DriverFactory {
  /**
   * Returns the driver's name, the key in the driver map ({@code "i915"}, {@code "umem-odp"}).
   *
   * @return the name
   */
  String name();

  /**
   * Returns the kind of hardware the driver is for.
   *
   * @return the family
   */
  DriverFamily family();

  /**
   * Returns how coherent the driver keeps its device with the CPU page tables, which decides what
   * the coherency checker holds it to.
   *
   * @return the model
   */
  CoherencyModel model();

  /**
   * Returns the variants this driver is ported in; always includes {@link
   * DriverVariant#CONSOLIDATED}.
   *
   * @return the variants
   */
  Set<DriverVariant> variants();

  /**
   * Returns the races a variant keeps on purpose; the consolidated variant declares none.
   *
   * @param variant one of {@link #variants()}
   * @return the declared races, possibly empty
   * @throws IllegalArgumentException if the variant is not one of {@link #variants()}
   */
  List<DeclaredRace> declaredRaces(DriverVariant variant);

  /**
   * Creates a device context of this driver, in {@code variant}, bound to {@code process} on {@code
   * machine}: the driver opens its device and subscribes to the process's address space.
   *
   * @param variant one of {@link #variants()}
   * @param process the process whose memory the device will access
   * @param machine the machine the process runs on
   * @return the adapter
   * @throws ErrnoException as the driver's open path would fail
   * @throws IllegalArgumentException if the variant is not one of {@link #variants()}
   */
  DriverAdapter create(DriverVariant variant, UserProcess process, Machine machine)
      throws ErrnoException;
}
