package io.mmulab.sim.check;

import java.util.HashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** Every frame the checker heard of, by frame number. */
final class Frames {
  private final Map<Long, FrameMirror> byPfn = new HashMap<>();

  /** The frame, or null if neither its allocation nor its free was reported. */
  @Nullable FrameMirror get(long pfn) {
    return byPfn.get(pfn);
  }

  /** The frame's current generation, or {@link FrameMirror#UNKNOWN_GENERATION}. */
  static long generationOf(@Nullable FrameMirror f) {
    return f == null ? FrameMirror.UNKNOWN_GENERATION : f.generation;
  }

  void allocated(long pfn, long generation, String owner, long now) {
    FrameMirror f = byPfn.get(pfn);
    if (f != null && !f.freed) {
      throw new IllegalStateException(
          "frame " + pfn + " allocated (gen " + generation + ") while live (gen " + f.generation);
    }
    if (f != null && generation <= f.generation) {
      throw new IllegalStateException(
          "frame " + pfn + " reallocated with gen " + generation + " not above " + f.generation);
    }
    if (f == null) {
      f = new FrameMirror();
      byPfn.put(pfn, f);
    }
    f.generation = generation;
    f.freed = false;
    f.tick = now;
    f.owner = owner;
  }

  void freed(long pfn, long generation, long now) {
    FrameMirror f = byPfn.get(pfn);
    if (f == null) {
      f = new FrameMirror();
      f.generation = generation;
      byPfn.put(pfn, f);
    } else if (f.freed || f.generation != generation) {
      throw new IllegalStateException(
          "frame "
              + pfn
              + " freed as gen "
              + generation
              + " but it is "
              + (f.freed ? "already freed" : "live")
              + " as gen "
              + f.generation);
    }
    f.freed = true;
    f.tick = now;
  }
}
