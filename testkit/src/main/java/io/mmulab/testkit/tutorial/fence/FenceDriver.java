package io.mmulab.testkit.tutorial.fence;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverFamily;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.sim.driver.SimDriverFactory;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import java.util.List;
import java.util.Map;

/** The fence-waiting device of the tutorial: {@link CoherencyModel#FENCE_WAIT}, one variant. */
public final class FenceDriver extends SimDriverFactory {
  /** The driver's name, its key in the driver map. */
  public static final String NAME = "tutorial-fence";

  /** The driver as it is meant to be. */
  public FenceDriver() {
    super(
        NAME,
        DriverFamily.TEST,
        CoherencyModel.FENCE_WAIT,
        Map.of(DriverVariant.CONSOLIDATED, List.of()));
  }

  @Override
  protected DriverAdapter open(DriverVariant variant, SimProcess process, SimMachine machine)
      throws ErrnoException {
    return new FenceDevice(process, machine);
  }
}
