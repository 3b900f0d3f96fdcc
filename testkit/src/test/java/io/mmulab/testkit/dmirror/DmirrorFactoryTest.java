package io.mmulab.testkit.dmirror;

import static io.mmulab.testkit.dmirror.DmirrorFixture.PAGE;
import static io.mmulab.testkit.dmirror.DmirrorReadWriteTest.assertErrno;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.inject.Guice;
import com.google.inject.Injector;
import com.google.inject.Key;
import com.google.inject.TypeLiteral;
import io.mmulab.api.Errno;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverFamily;
import io.mmulab.api.driver.DriverPlugin;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.JobFence;
import io.mmulab.api.driver.ViolationKind;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The driver SPI: plugin discovery, the factory's description, and the adapter's verbs. */
class DmirrorFactoryTest {
  @Test
  void plugin_isFoundByServiceLoader_andBindsTheFactoryUnderItsName() {
    DriverPlugin plugin =
        ServiceLoader.load(DriverPlugin.class).stream()
            .map(ServiceLoader.Provider::get)
            .filter(p -> p instanceof DmirrorPlugin)
            .findFirst()
            .orElseThrow();
    Injector injector = Guice.createInjector(plugin.module());
    Map<String, DriverFactory> drivers =
        injector.getInstance(Key.get(new TypeLiteral<Map<String, DriverFactory>>() {}));
    assertThat(drivers).containsKey("dmirror");
    assertThat(drivers.get("dmirror")).isInstanceOf(DmirrorFactory.class);
  }

  @Test
  void factory_describesTheDriver() {
    DmirrorFactory factory = new DmirrorFactory();
    assertThat(factory.name()).isEqualTo("dmirror");
    assertThat(factory.family()).isEqualTo(DriverFamily.TEST);
    assertThat(factory.model()).isEqualTo(CoherencyModel.SHADOW_PTE);
    assertThat(factory.variants())
        .containsExactlyInAnyOrder(DriverVariant.LEGACY, DriverVariant.CONSOLIDATED);
    assertThat(factory.declaredRaces(DriverVariant.CONSOLIDATED)).isEmpty();
    assertThat(factory.declaredRaces(DriverVariant.LEGACY))
        .containsExactly(DmirrorFactory.VALID_FLAG_RESET);
    assertThat(DmirrorFactory.VALID_FLAG_RESET.name()).isEqualTo(DmirrorFactory.RACE);
    assertThat(DmirrorFactory.VALID_FLAG_RESET.scenarios())
        .containsExactly(
            "munmap-vs-fault",
            "overlapping-invalidations",
            "mprotect-during-write-fault",
            "migrate-during-dma",
            "munmap-zap-vs-fault",
            "remap-while-cached");
    assertThat(DmirrorFactory.VALID_FLAG_RESET.kinds())
        .containsExactlyInAnyOrder(
            ViolationKind.STALE_USE, ViolationKind.USE_AFTER_FREE, ViolationKind.PERMISSION);
    assertThatThrownBy(() -> factory.declaredRaces(DriverVariant.AS_MERGED))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void adapter_readWritePrefetchSubmitTeardown(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorFactory factory = new DmirrorFactory();
      DriverAdapter adapter = factory.create(variant, f.proc, f.machine);
      assertThat(adapter.driver()).isEqualTo("dmirror");
      assertThat(adapter.variant()).isEqualTo(variant);
      DmirrorMirror m = ((DmirrorAdapter) adapter).mirror();
      long a = f.filled(3);
      assertThat(adapter.read(a + PAGE - 8, 3)).containsExactly(511, 512, 513);
      adapter.write(a + 2 * PAGE + 16, new long[] {-1, -2});
      assertThat(f.proc.load(a + 2 * PAGE + 24)).isEqualTo(-2);
      adapter.prefetch(a, 3 * PAGE, true);
      assertThat(m.mappedPages()).isEqualTo(3);
      JobFence done = adapter.submit(a, 2, new long[] {5, 6});
      assertThat(done.isSignaled()).isTrue();
      assertThat(done.waitTimeout(0)).isTrue();
      assertThat(done.error()).isNull();
      assertThat(f.proc.load(a + 8)).isEqualTo(6);
      assertThat(adapter.submit(a, 1, null).error()).isNull();
      f.proc.munmap(a, PAGE);
      JobFence failed = adapter.submit(a, 1, null);
      assertThat(failed.isSignaled()).isTrue();
      assertThat(failed.error().errno()).isEqualTo(Errno.EFAULT);
      assertErrno(() -> adapter.read(a, 1), Errno.EFAULT);
      assertThatThrownBy(() -> adapter.read(a + 4, 1)).isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> adapter.prefetch(a, 100, false))
          .isInstanceOf(IllegalArgumentException.class);
      adapter.teardown();
      adapter.close();
      assertThat(m.isClosed()).isTrue();
      assertErrno(() -> adapter.read(a + PAGE, 1), Errno.EINVAL);
    }
  }

  @Test
  void create_asMerged_isRefused() {
    try (DmirrorFixture f = new DmirrorFixture(DriverVariant.CONSOLIDATED)) {
      assertThatThrownBy(
              () -> new DmirrorFactory().create(DriverVariant.AS_MERGED, f.proc, f.machine))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void devices_arePerMachine_andNumberTheirOpens() throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(DriverVariant.CONSOLIDATED)) {
      assertThat(DmirrorDevices.of(f.machine)).isSameAs(f.devices);
      assertThat(f.devices.devices())
          .extracting(Dmirror::name)
          .containsExactly("dmirror0", "dmirror1", "dmirror2", "dmirror3");
      assertThat(f.devices.device(1).memoryType()).isEqualTo(DmirrorProt.MEMORY_DEVICE_PRIVATE);
      assertThat(f.devices.device(1).isCoherent()).isFalse();
      assertThat(f.devices.device(2).memoryType()).isEqualTo(DmirrorProt.MEMORY_DEVICE_COHERENT);
      assertThat(f.devices.device(3).isCoherent()).isTrue();
      assertThatThrownBy(() -> f.devices.device(4)).isInstanceOf(IllegalArgumentException.class);
      assertThat(f.open().id()).isEqualTo("dmirror0.m1");
      assertThat(f.open().id()).isEqualTo("dmirror0.m2");
      assertThat(f.open(f.proc, 1).id()).isEqualTo("dmirror1.m1");
    }
  }
}
