package io.mmulab.testkit.regcache;

import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverFamily;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.sim.driver.SimDriverFactory;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The registration cache (see the package comment): {@link CoherencyModel#REGISTRATION_CACHE}, a
 * {@link DriverVariant#LEGACY} variant with the pin-before-insert race and a {@link
 * DriverVariant#CONSOLIDATED} one without. Stateless: each {@link #create} opens a new device.
 */
public final class RegCacheDriver extends SimDriverFactory {
  /** The driver's name, its key in the driver map. */
  public static final String NAME = "regcache";

  /**
   * The legacy variant's race: the page is pinned before the entry's notifier is inserted, and
   * nothing checks in between, so an invalidation in that gap is never seen and the entry caches a
   * frame the CPU no longer maps at its address. Seen in every scenario whose invalidations move or
   * drop pages under a device that keeps registering (first seeds 3, 3, 33, 13 and 9; the mprotect
   * and fork scenarios keep the frame, so the stale entry there is harmless).
   */
  public static final DeclaredRace PIN_BEFORE_INSERT =
      new DeclaredRace(
          "pin-before-insert",
          List.of(
              "munmap-vs-fault",
              "overlapping-invalidations",
              "migrate-during-dma",
              "oom-reap-during-fault",
              "munmap-zap-vs-fault",
              "remap-while-cached"),
          Set.of(ViolationKind.STALE_USE),
          "Device: a cache miss pins page P (GUP) and has not inserted the entry's notifier yet;"
              + " CPU: munmap, migrate, MADV_DONTNEED or the OOM reaper changes P's entry start to"
              + " end and reaches no notifier of the entry; device: inserts the notifier and"
              + " publishes the entry for P; every later operation uses the pinned old frame, which"
              + " the CPU no longer maps there.");

  private final RegCacheDevice.Flaw flaw;
  private final Consumer<RegCacheDevice> opened;

  /** The cache as it is meant to be. */
  public RegCacheDriver() {
    this(RegCacheDevice.Flaw.NONE);
  }

  /** The cache with a bug planted by a test. */
  RegCacheDriver(RegCacheDevice.Flaw flaw) {
    this(flaw, d -> {});
  }

  /** The cache with a bug planted by a test, telling it of every device it opens. */
  RegCacheDriver(RegCacheDevice.Flaw flaw, Consumer<RegCacheDevice> opened) {
    super(
        flaw == RegCacheDevice.Flaw.NONE
            ? NAME
            : NAME + "-" + flaw.name().toLowerCase(Locale.ROOT).replace('_', '-'),
        DriverFamily.TEST,
        CoherencyModel.REGISTRATION_CACHE,
        Map.of(
            DriverVariant.LEGACY,
            List.of(PIN_BEFORE_INSERT),
            DriverVariant.CONSOLIDATED,
            List.of()));
    this.flaw = Objects.requireNonNull(flaw, "flaw is null");
    this.opened = Objects.requireNonNull(opened, "opened is null");
  }

  @Override
  protected DriverAdapter open(DriverVariant variant, SimProcess process, SimMachine machine) {
    RegCacheDevice d = new RegCacheDevice(variant, flaw, process, machine);
    opened.accept(d);
    return d;
  }
}
