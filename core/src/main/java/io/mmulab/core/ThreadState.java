package io.mmulab.core;

import io.mmulab.api.MmuNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.Lockable;
import java.util.ArrayList;
import org.jspecify.annotations.Nullable;

/**
 * What the lock rules know about one thread: the locks it holds, the invalidate callbacks it is
 * inside, and the invalidation windows it has opened. Only the owning thread touches its state, so
 * nothing here is synchronized.
 */
final class ThreadState {
  private static final ThreadLocal<ThreadState> CURRENT = ThreadLocal.withInitial(ThreadState::new);

  /**
   * A callback the thread is running: which interval subscription (or, for a classic notifier's
   * start or end, null and the notifier), for which range, with which seq (0 for classic).
   */
  record CallbackFrame(
      MmuNotifierSubscriptions subscriptions,
      @Nullable IntervalSubscription sub,
      @Nullable MmuNotifier classic,
      MmuNotifierRange range,
      long curSeq) {
    String who() {
      return sub != null ? sub.toString() : "classic notifier " + classic;
    }
  }

  /** A start this thread made whose end is still due. */
  /**
   * A started window; {@code failure} is what its start's callbacks threw (the first, later ones
   * suppressed), reported by the matching end once the window is closed.
   */
  record OpenWindow(
      MmuNotifierSubscriptions subscriptions, MmuNotifierRange range, @Nullable Throwable failure) {
    OpenWindow(MmuNotifierSubscriptions subscriptions, MmuNotifierRange range) {
      this(subscriptions, range, null);
    }
  }

  final ArrayList<Lockable> held = new ArrayList<>(4);
  final ArrayList<CallbackFrame> callbacks = new ArrayList<>(2);
  final ArrayList<OpenWindow> openWindows = new ArrayList<>(2);
  @Nullable OpenWindow lastFailedNonblockStart;

  static ThreadState current() {
    return CURRENT.get();
  }

  @Nullable CallbackFrame innermostCallback() {
    return callbacks.isEmpty() ? null : callbacks.get(callbacks.size() - 1);
  }

  /** Finds and removes the newest open window matching {@code range}; null if there is none. */
  @Nullable OpenWindow takeOpenWindow(
      MmuNotifierSubscriptions subscriptions, MmuNotifierRange range) {
    for (int i = openWindows.size() - 1; i >= 0; i--) {
      OpenWindow w = openWindows.get(i);
      if (w.subscriptions() == subscriptions && w.range().sameWindow(range)) {
        return openWindows.remove(i);
      }
    }
    return null;
  }
}
