package io.mmulab.sim.check;

import io.mmulab.api.driver.CoherencyModel;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/** Every device the checker heard of, by id, in the order first seen. */
final class Devices {
  private final Map<String, Device> byId = new LinkedHashMap<>();

  /** The device, seen now as {@link CoherencyModel#SHADOW_PTE} if it was never seen before. */
  Device get(String deviceId) {
    Objects.requireNonNull(deviceId, "deviceId is null");
    return byId.computeIfAbsent(deviceId, id -> new Device(id, CoherencyModel.SHADOW_PTE));
  }

  void declare(String deviceId, CoherencyModel model) {
    Device d = byId.get(deviceId);
    if (d == null || d.tornDown) {
      byId.put(deviceId, new Device(deviceId, model));
    } else if (d.model != model) {
      throw new IllegalStateException(
          "device " + deviceId + " declared " + model + " but already seen as " + d.model);
    }
  }

  Collection<Device> all() {
    return byId.values();
  }
}
