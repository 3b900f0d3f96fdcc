package io.mmulab.driver.gntdev;

import io.mmulab.api.ErrnoException;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.xen.XenHypervisor;

/** {@link GntdevHypervisor} on the simulated machine: its {@link XenHypervisor} and checker. */
final class GntdevSimHypervisor implements GntdevHypervisor {
  /** The domain that grants the pages (the frontend); the process runs in domain 0. */
  static final int PEER_DOMID = 1;

  final String id;
  final XenHypervisor xen;
  final CoherencyChecker checker;

  GntdevSimHypervisor(SimMachine machine) {
    this.xen = machine.xen();
    this.checker = machine.checker();
    this.id = xen.nextDeviceId(GntdevFactory.NAME);
    checker.declareDevice(id, GntdevFactory.MODEL);
  }

  @Override
  public int grantForeignAccess(long pfn, boolean readOnly) {
    return xen.grantForeignAccess(PEER_DOMID, pfn, readOnly);
  }

  @Override
  public void endForeignAccess(int ref) {
    xen.endForeignAccess(PEER_DOMID, ref);
  }

  @Override
  public void unmapGrant(long handle) throws ErrnoException {
    xen.unmapGrant(id, handle);
  }

  @Override
  public boolean unmapGrantAsync(long handle, Runnable done) throws ErrnoException {
    return xen.unmapGrantAsync(id, handle, done);
  }

  @Override
  public void subscribed(String subscription, String mm, long start, long end) {
    checker.subscriptionInserted(id, subscription, mm, start, end);
  }

  @Override
  public void unsubscribed(String subscription) {
    checker.subscriptionRemoved(id, subscription);
  }

  @Override
  public void callbackEntered(String subscription, String mm, long start, long end) {
    checker.invalidateCallbackEntered(id, subscription, mm, start, end);
  }

  @Override
  public void callbackReturned(String subscription, String mm, long start, long end, long seq) {
    checker.invalidateCallbackReturned(id, subscription, mm, start, end, seq);
  }
}
