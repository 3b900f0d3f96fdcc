package io.mmulab.api.driver;

/** The kind of hardware a driver is for. */
public enum DriverFamily {
  /** Graphics processors: i915, radeon, nouveau. */
  GPU,
  /** RDMA network adapters: umem_odp, hfi1, scif. */
  RDMA,
  /** Virtual machine hosts: vhost. */
  VIRTUALIZATION,
  /** Xen hypervisor grant tables: gntdev. */
  XEN,
  /** Test devices: dmirror, the kernel's HMM test driver. */
  TEST
}
