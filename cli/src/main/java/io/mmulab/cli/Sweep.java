package io.mmulab.cli;

import io.mmulab.testkit.scenario.Scenario;
import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.ScenarioRunner;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Runs seed sweeps of several scenarios on a few worker threads (each run is one deterministic
 * simulation, so runs are independent), handing every run to its part's consumer and reporting
 * progress. The order in which runs finish is not deterministic; each run is.
 */
final class Sweep {
  /**
   * One scenario swept over a seed range by one runner.
   *
   * @param runner the driver variant
   * @param scenario the scenario
   * @param seeds the seeds
   * @param sink receives each run, from worker threads
   */
  record Part(
      ScenarioRunner runner, Scenario scenario, SeedRange seeds, Consumer<ScenarioRun> sink) {
    String label() {
      return runner.factory().name() + "/" + Catalog.name(runner.variant()) + " " + scenario.name();
    }
  }

  private final List<Part> parts = new ArrayList<>();

  /**
   * Adds a part.
   *
   * @param part the part
   */
  void add(Part part) {
    parts.add(part);
  }

  /**
   * Returns how many runs the sweep makes.
   *
   * @return the sum of the parts' seed counts
   */
  long size() {
    return parts.stream().mapToLong(p -> p.seeds().count()).sum();
  }

  /**
   * Runs every part.
   *
   * @param threads worker threads, at least 1
   * @param progress where to report
   * @throws IllegalStateException if a run threw (a bug of the runner or a driver outside the
   *     simulation), with that throwable as the cause
   */
  void run(int threads, Progress progress) {
    long total = size();
    AtomicLong next = new AtomicLong();
    AtomicLong done = new AtomicLong();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<Thread> workers = new ArrayList<>();
    for (int w = 0; w < threads; w++) {
      Thread t =
          new Thread(
              () -> {
                for (long i = next.getAndIncrement();
                    i < total && failure.get() == null;
                    i = next.getAndIncrement()) {
                  try {
                    runOne(i, done, progress);
                  } catch (RuntimeException | Error e) {
                    failure.compareAndSet(null, e);
                  }
                }
              },
              "mmulab-sweep-" + w);
      t.setDaemon(true);
      workers.add(t);
      t.start();
    }
    for (Thread t : workers) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
    }
    if (failure.get() != null) {
      throw new IllegalStateException("a run threw: " + failure.get(), failure.get());
    }
  }

  private void runOne(long index, AtomicLong done, Progress progress) {
    long i = index;
    for (Part p : parts) {
      if (i < p.seeds().count()) {
        p.sink().accept(p.runner().run(p.scenario(), p.seeds().first() + i));
        progress.update(done.incrementAndGet(), p.label());
        return;
      }
      i -= p.seeds().count();
    }
    throw new IllegalStateException("no part holds run " + index);
  }
}
