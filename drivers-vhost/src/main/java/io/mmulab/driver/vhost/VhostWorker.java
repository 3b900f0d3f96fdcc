package io.mmulab.driver.vhost;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.sync.Completion;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.api.sync.WaitQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.jspecify.annotations.Nullable;

/**
 * The device's backend worker thread (kernel {@code vhost_worker}): it runs queued work one item at
 * a time, each with the virtqueue's mutex held, as {@code handle_vq} does, and sleeps when there is
 * none. A verb queues one item and waits for it (kernel {@code vhost_work_queue} and a flush), so
 * every access to the rings is made by this thread.
 */
final class VhostWorker {
  /** One item of work: the accesses of one kick. */
  interface Work {
    void run() throws ErrnoException;
  }

  private static final class Item {
    final Work work;
    final Completion done;
    @Nullable ErrnoException error;
    @Nullable RuntimeException failure;

    Item(Work work, Completion done) {
      this.work = work;
      this.done = done;
    }
  }

  private final SyncRuntime rt;
  private final String name;
  private final Mutex vqMutex;
  private final ConcurrentLinkedQueue<Item> queue = new ConcurrentLinkedQueue<>();
  private final WaitQueue kick;
  private volatile boolean stopped;
  private final ThreadHandle thread;

  VhostWorker(SyncRuntime rt, String id, Mutex vqMutex) {
    this.rt = rt;
    this.name = id + ".worker";
    this.vqMutex = vqMutex;
    this.kick = rt.newWaitQueue(name + ".kick");
    this.thread = rt.spawn(name, this::loop);
  }

  /** Queues {@code work}, wakes the worker and waits until it ran. */
  void run(Work work) throws ErrnoException {
    if (stopped) {
      throw new ErrnoException(Errno.EINVAL, name + " is stopped");
    }
    Item item = new Item(work, rt.newCompletion(name + ".flush"));
    queue.add(item);
    kick.wakeUpAll();
    item.done.waitForCompletion();
    if (item.failure != null) {
      throw item.failure;
    }
    if (item.error != null) {
      throw item.error;
    }
  }

  private void loop() {
    while (true) {
      kick.waitEvent(() -> stopped || !queue.isEmpty());
      Item item = queue.poll();
      if (item == null) {
        return; // stopped, and nothing queued
      }
      vqMutex.lock();
      try {
        item.work.run();
      } catch (ErrnoException e) {
        item.error = e;
      } catch (RuntimeException e) {
        item.failure = e;
      } finally {
        vqMutex.unlock();
        item.done.complete();
      }
    }
  }

  /** Stops the thread once the queued work ran; called with no verb running. */
  void stop() {
    stopped = true;
    kick.wakeUpAll();
    thread.join();
  }
}
