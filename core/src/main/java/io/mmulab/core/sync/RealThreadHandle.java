package io.mmulab.core.sync;

import io.mmulab.api.sync.ThreadHandle;
import org.jspecify.annotations.Nullable;

/** A platform thread that keeps what its body threw, to rethrow it from {@link #join()}. */
final class RealThreadHandle implements ThreadHandle {
  private final Thread thread;
  private volatile @Nullable Throwable failure;

  private RealThreadHandle(String name, Runnable body) {
    this.thread =
        new Thread(
            () -> {
              try {
                body.run();
              } catch (Throwable t) {
                failure = t;
              }
            },
            name);
  }

  static RealThreadHandle start(String name, Runnable body) {
    RealThreadHandle h = new RealThreadHandle(name, body);
    h.thread.start();
    return h;
  }

  @Override
  public String name() {
    return thread.getName();
  }

  @Override
  public void join() {
    boolean interrupted = false;
    while (true) {
      try {
        thread.join();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    Throwable t = failure;
    if (t instanceof RuntimeException r) {
      throw r;
    }
    if (t instanceof Error e) {
      throw e;
    }
    if (t != null) {
      throw new IllegalStateException("thread " + name() + " failed", t);
    }
  }

  @Override
  public boolean isDone() {
    return !thread.isAlive();
  }
}
