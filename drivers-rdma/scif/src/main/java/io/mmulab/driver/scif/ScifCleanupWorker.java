package io.mmulab.driver.scif;

import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.api.sync.WaitQueue;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The work item that destroys invalidated windows (the kernel's {@code misc_work} running {@code
 * scif_rma_destroy_tcw_invalid}): a thread that sleeps until windows are queued and runs {@link
 * ScifRmaCache#destroyInvalid}. {@link #stop} lets it empty the queue first.
 */
final class ScifCleanupWorker {
  private final WaitQueue work;
  private final AtomicBoolean stopping = new AtomicBoolean();
  private final ScifRmaCache cache;
  private final ThreadHandle thread;

  ScifCleanupWorker(SyncRuntime rt, String name, ScifRmaCache cache) {
    this.cache = cache;
    this.work = rt.newWaitQueue(name + ".cleanup");
    this.thread = rt.spawn(name + ".cleanup", this::loop);
  }

  /** {@code schedule_work}: never sleeps, callable from a callback. */
  void kick() {
    work.wakeUpAll();
  }

  /** Destroys what is queued, then ends the thread and waits for it. */
  void stop() {
    stopping.set(true);
    work.wakeUpAll();
    thread.join();
  }

  private void loop() {
    while (true) {
      work.waitEvent(() -> stopping.get() || cache.hasCleanup());
      if (!cache.destroyInvalid() && stopping.get()) {
        return;
      }
    }
  }
}
