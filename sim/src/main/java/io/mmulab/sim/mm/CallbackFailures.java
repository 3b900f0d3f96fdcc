package io.mmulab.sim.mm;

import io.mmulab.api.MmuNotifier;
import org.jspecify.annotations.Nullable;

/**
 * What the notifier callbacks of the mm operation running on this thread threw, held until the
 * operation has completed (see {@link MmuNotifier}, "A callback that throws").
 *
 * <p>An mm operation runs inside {@link #collect}; an invalidation whose callbacks threw completes
 * (change, end, frees) and hands the throwable to {@link #add}; the callbacks that run under the
 * page-table lock (secondary TLBs, aging) hand theirs over without unwinding the change. When the
 * outermost operation returns or throws, its locks released, the first throwable is rethrown with
 * the later ones (and the operation's own exception, if any) suppressed. Operations nest (a fault
 * inside a migration, a truncation visiting each process): only the outermost one reports.
 */
final class CallbackFailures {
  /** The body of an mm operation. */
  @FunctionalInterface
  interface Op<T, E extends Exception> {
    T run() throws E;
  }

  /** The body of an mm operation that returns nothing. */
  @FunctionalInterface
  interface VoidOp<E extends Exception> {
    void run() throws E;
  }

  /** The current thread's first throwable; a one-element array while an operation runs. */
  private final ThreadLocal<Throwable[]> current = new ThreadLocal<>();

  /** Like {@link #collect} for a body that returns nothing. */
  <E extends Exception> void run(VoidOp<E> op) throws E {
    collect(
        () -> {
          op.run();
          return Boolean.TRUE;
        });
  }

  /**
   * Runs {@code op} as an mm operation, then rethrows what its callbacks threw.
   *
   * @return what {@code op} returned
   * @throws E what {@code op} threw, unless a callback threw too
   */
  <T, E extends Exception> T collect(Op<T, E> op) throws E {
    if (current.get() != null) {
      return op.run();
    }
    Throwable[] slot = {null};
    current.set(slot);
    T result;
    try {
      result = op.run();
    } catch (Exception | Error e) {
      current.remove();
      if (slot[0] != null) {
        rethrow(merge(slot[0], e));
      }
      throw e;
    }
    current.remove();
    if (slot[0] != null) {
      rethrow(slot[0]);
    }
    return result;
  }

  /**
   * Hands over what a completed invalidation's callbacks threw: kept for the end of the current
   * operation, or rethrown at once outside any (the invalidation itself has completed).
   *
   * @param failure the throwable, or null for nothing
   */
  void add(@Nullable Throwable failure) {
    if (failure == null) {
      return;
    }
    Throwable[] slot = current.get();
    if (slot == null) {
      rethrow(failure);
    }
    slot[0] = merge(slot[0], failure);
  }

  /** The first throwable with {@code next} suppressed (once, never itself). */
  static Throwable merge(Throwable first, Throwable next) {
    if (first == null) {
      return next;
    }
    if (next != first) {
      for (Throwable s : first.getSuppressed()) {
        if (s == next) {
          return first;
        }
      }
      first.addSuppressed(next);
    }
    return first;
  }

  private static void rethrow(Throwable t) {
    if (t instanceof RuntimeException e) {
      throw e;
    }
    if (t instanceof Error e) {
      throw e;
    }
    throw new IllegalStateException("a callback threw a checked exception", t);
  }
}
