package io.mmulab.driver.umemodp;

import io.mmulab.api.sync.RwSemaphore;
import java.util.ArrayList;
import java.util.List;

/**
 * A kernel-like reader-writer semaphore for the Lincheck test, on a Java monitor (which Lincheck
 * models, deadlocks included): a waiting writer blocks new readers, also a thread that already
 * holds it for read (the kernel's {@code down_read} is not reentrant either). The real runtime's
 * semaphore is a {@code ReentrantReadWriteLock}, which lets a reader in again past a waiting
 * writer.
 */
final class WriterPreferringRwSem implements RwSemaphore {
  private final String name;
  private final List<Thread> readers = new ArrayList<>();
  private Thread writer;
  private int writersWaiting;

  WriterPreferringRwSem(String name) {
    this.name = name;
  }

  @Override
  public synchronized void downRead() {
    while (writer != null || writersWaiting > 0) {
      await();
    }
    readers.add(Thread.currentThread());
  }

  @Override
  public synchronized boolean downReadTrylock() {
    if (writer != null || writersWaiting > 0) {
      return false;
    }
    readers.add(Thread.currentThread());
    return true;
  }

  @Override
  public synchronized void upRead() {
    if (!readers.remove(Thread.currentThread())) {
      throw new IllegalStateException(name + " is not read-held by " + Thread.currentThread());
    }
    notifyAll();
  }

  @Override
  public synchronized void downWrite() {
    writersWaiting++;
    while (writer != null || !readers.isEmpty()) {
      await();
    }
    writersWaiting--;
    writer = Thread.currentThread();
  }

  @Override
  public synchronized boolean downWriteTrylock() {
    if (writer != null || !readers.isEmpty()) {
      return false;
    }
    writer = Thread.currentThread();
    return true;
  }

  @Override
  public synchronized void upWrite() {
    if (writer != Thread.currentThread()) {
      throw new IllegalStateException(name + " is not write-held by " + Thread.currentThread());
    }
    writer = null;
    notifyAll();
  }

  @Override
  public synchronized void downgradeWrite() {
    upWrite();
    readers.add(Thread.currentThread());
  }

  @Override
  public synchronized boolean isReadHeldByCurrentThread() {
    return readers.contains(Thread.currentThread());
  }

  @Override
  public synchronized boolean isWriteHeldByCurrentThread() {
    return writer == Thread.currentThread();
  }

  @Override
  public synchronized boolean isHeldByCurrentThread() {
    return isReadHeldByCurrentThread() || isWriteHeldByCurrentThread();
  }

  @Override
  public String name() {
    return name;
  }

  private void await() {
    try {
      wait();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(name + ": interrupted", e);
    }
  }
}
