package io.mmulab.driver.nouveau;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.dev.DeviceFault;
import io.mmulab.sim.driver.DriverStats;
import io.mmulab.sim.gpu.GpuVm;
import io.mmulab.sim.gpu.SimGpu;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.WeakHashMap;

/**
 * One SVM client (kernel {@code struct nouveau_svmm}) on its own simulated GPU: a {@link GpuVm}
 * mirroring one process, whose replayable faults are resolved by {@link #resolveWindow} (kernel
 * {@code nouveau_svm_fault}) through the variant's {@link NouveauSync}. The state both variants
 * share (mutex, {@code vmm}) is in {@link NouveauSvmmCore}; this class wires it to the GPU and the
 * coherency checker.
 *
 * <p>GPU VA == user VA; there is no "unmanaged" window in this port (the kernel splits every PTE
 * clear around it; with an empty window that split is the identity).
 */
public final class NouveauSvmm {
  private static final Map<SimMachine, int[]> GPU_COUNTERS = new WeakHashMap<>();

  private final DriverVariant variant;
  private final AddressSpace mm;
  private final SimGpu gpu;
  private final GpuVm vm;
  private final NouveauSvmmCore core;
  private final NouveauSync sync;
  private volatile boolean closed;

  NouveauSvmm(DriverVariant variant, SimProcess process, SimMachine machine) throws ErrnoException {
    this.variant = Objects.requireNonNull(variant, "variant is null");
    this.mm = process.addressSpace();
    this.gpu = new SimGpu(machine, nextGpuName(machine), CoherencyModel.SHADOW_PTE, true);
    this.vm = gpu.newVm(process);
    this.core = new NouveauSvmmCore(machine.runtime(), mm, vm.deviceId(), new VmPtes(vm, machine));
    this.sync =
        switch (variant) {
          case LEGACY -> new NouveauLegacyMirror(core);
          case CONSOLIDATED -> new NouveauConsolidatedSync(core);
          case AS_MERGED -> throw new IllegalArgumentException("nouveau has no AS_MERGED variant");
        };
    try {
      sync.open();
    } catch (ErrnoException | RuntimeException e) {
      gpu.shutdownNow();
      vm.tearDown();
      throw e;
    }
    Objects.requireNonNull(vm.faultQueue(), "nouveau's VM has replayable faults")
        .startHandler(this::handleFault);
  }

  private static String nextGpuName(SimMachine machine) {
    synchronized (GPU_COUNTERS) {
      int[] n = GPU_COUNTERS.computeIfAbsent(machine, k -> new int[1]);
      return "nouveau" + n[0]++;
    }
  }

  DriverVariant variant() {
    return variant;
  }

  /**
   * Returns the GPU.
   *
   * @return the GPU
   */
  public SimGpu gpu() {
    return gpu;
  }

  /**
   * Returns the GPU VM (the checker device).
   *
   * @return the VM
   */
  public GpuVm vm() {
    return vm;
  }

  NouveauSvmmCore core() {
    return core;
  }

  DriverStats stats() {
    return core.stats();
  }

  String id() {
    return vm.deviceId();
  }

  boolean isClosed() {
    return closed;
  }

  /**
   * Returns, in order, which callbacks ran.
   *
   * @return {@code "interval"} / {@code "classic"} entries
   */
  List<String> callbackLog() {
    return core.callbackLog();
  }

  // ---------------------------------------------------------------------------------------------
  // The fault path (kernel nouveau_svm_fault)

  private void handleFault(DeviceFault fault) throws ErrnoException {
    long page = fault.pageAddress();
    resolveWindow(page, page + AddressSpace.PAGE_SIZE, fault.write());
  }

  /**
   * Resolves a fault window: the replayable-fault handler's work, also used by prefetch. Takes a
   * reference on the mm around it ({@code mmget_not_zero}).
   *
   * @param start page-aligned
   * @param end page-aligned, exclusive
   * @param write whether write access is wanted
   * @throws ErrnoException {@code EFAULT} for a hole or an exited process (the fault is cancelled)
   */
  void resolveWindow(long start, long end, boolean write) throws ErrnoException {
    if (closed) {
      throw new ErrnoException(Errno.EFAULT, id() + " is torn down");
    }
    if (!mm.mmgetNotZero()) {
      throw new ErrnoException(Errno.EFAULT, mm.name() + " has exited");
    }
    try {
      sync.resolve(start, end, write);
    } finally {
      mm.mmput();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Teardown

  /**
   * Stops the GPU (the channel goes first, so no job touches memory afterwards), then the variant's
   * fini and unsubscribe, then reports the VM gone. Idempotent.
   */
  void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    gpu.shutdownNow();
    sync.close();
    vm.tearDown();
  }

  @Override
  public String toString() {
    return "nouveau svmm " + id() + " (" + variant + ") on " + mm.name();
  }

  /** The GPU VM as the hardware, reporting to the machine's checker. */
  private record VmPtes(GpuVm vm, CoherencyChecker checker) implements NouveauGpuPtes {
    VmPtes(GpuVm vm, SimMachine machine) {
      this(vm, machine.checker());
    }

    @Override
    public void subscribed(String subscription) {
      checker.subscriptionInserted(
          vm.deviceId(), subscription, vm.mm(), 0, MmuNotifierRange.ULONG_MAX);
    }

    @Override
    public void unsubscribed(String subscription) {
      checker.subscriptionRemoved(vm.deviceId(), subscription);
    }

    @Override
    public void clear(String subscription, long start, long end) {
      checker.invalidateCallbackEntered(vm.deviceId(), subscription, vm.mm(), start, end);
      vm.unbindRange(start, end); // PFNCLR + GPU TLB flush (waits for accesses in flight)
      checker.invalidateCallbackReturned(vm.deviceId(), subscription, vm.mm(), start, end, 0);
    }

    @Override
    public void destroy() {
      vm.unbindRange(0, MmuNotifierRange.ULONG_MAX);
    }

    @Override
    public void write(long va, long pfn, boolean writable) {
      vm.bind(va, pfn, writable);
    }
  }
}
