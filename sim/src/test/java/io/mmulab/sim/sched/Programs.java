package io.mmulab.sim.sched;

import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.api.sync.WaitQueue;
import java.util.ArrayList;
import java.util.List;

/** Small programs shared by the scheduler tests. */
final class Programs {
  private Programs() {}

  /**
   * Four workers contend on a mutex, an rwsem (worker 0 writes, the others read) and yield points,
   * while a waiter sleeps on a wait queue until every increment is done.
   */
  static void contended(DeterministicRuntime rt) {
    Mutex m = rt.newMutex("m");
    RwSemaphore sem = rt.newRwSemaphore("sem");
    WaitQueue wq = rt.newWaitQueue("wq");
    int[] counter = {0};
    int workers = 3;
    int rounds = 3;
    List<ThreadHandle> hs = new ArrayList<>();
    hs.add(rt.spawn("waiter", () -> wq.waitEvent(() -> counter[0] >= workers * rounds)));
    for (int i = 0; i < workers; i++) {
      int id = i;
      hs.add(
          rt.spawn(
              "w" + i,
              () -> {
                for (int k = 0; k < rounds; k++) {
                  rt.yieldPoint("round " + k);
                  if (id == 0) {
                    sem.downWrite();
                    sem.upWrite();
                  } else {
                    sem.downRead();
                    rt.yieldPoint("reading");
                    sem.upRead();
                  }
                  m.lock();
                  counter[0]++;
                  m.unlock();
                  wq.wakeUpAll();
                }
              }));
    }
    for (ThreadHandle h : hs) {
      h.join();
    }
    if (counter[0] != workers * rounds) {
      throw new AssertionError("counter " + counter[0]);
    }
  }

  /**
   * Two threads increment a shared counter with a yield point between the read and the write; with
   * {@code locked} the read-modify-write is under a mutex. Throws AssertionError on a lost update.
   */
  static void counter(DeterministicRuntime rt, boolean locked) {
    Mutex m = rt.newMutex("m");
    int[] x = {0};
    Runnable inc =
        () -> {
          if (locked) {
            m.lock();
          }
          int v = x[0];
          rt.yieldPoint("read " + v);
          x[0] = v + 1;
          if (locked) {
            m.unlock();
          }
        };
    ThreadHandle a = rt.spawn("a", inc);
    ThreadHandle b = rt.spawn("b", inc);
    a.join();
    b.join();
    if (x[0] != 2) {
      throw new AssertionError("lost update: x = " + x[0]);
    }
  }

  /** Two threads take two mutexes in opposite orders. */
  static void abba(DeterministicRuntime rt) {
    Mutex a = rt.newMutex("A");
    Mutex b = rt.newMutex("B");
    ThreadHandle t1 =
        rt.spawn(
            "t1",
            () -> {
              a.lock();
              rt.yieldPoint("t1 holds A");
              b.lock();
              b.unlock();
              a.unlock();
            });
    ThreadHandle t2 =
        rt.spawn(
            "t2",
            () -> {
              b.lock();
              rt.yieldPoint("t2 holds B");
              a.lock();
              a.unlock();
              b.unlock();
            });
    t1.join();
    t2.join();
  }
}
