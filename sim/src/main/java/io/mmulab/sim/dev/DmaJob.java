package io.mmulab.sim.dev;

import io.mmulab.api.ErrnoException;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A unit of work for a {@link DmaEngine}: commands run in order, then the job's fence signals (with
 * the first error, if a command failed; the commands after it do not run). A job is submitted once;
 * {@link DmaEngine#submit} gives it its fence and, for every {@code REGISTRATION_CACHE} context it
 * touches, its checker operation (the operation begins at submission).
 *
 * <p>Results are written by the engine thread before the fence signals and may be read once it has
 * ({@link #readResult}).
 */
public final class DmaJob {
  private final String name;
  private final List<DmaCommand> commands;
  private final long[][] results;

  // Set once by submit, before the job is published to the ring.
  private volatile @Nullable DmaFence fence;
  private @Nullable Map<DeviceMmu, Long> operations;

  private DmaJob(String name, List<DmaCommand> commands) {
    this.name = name;
    this.commands = List.copyOf(commands);
    this.results = new long[this.commands.size()][];
  }

  /**
   * A job of {@code commands}, in order.
   *
   * @param name for traces and fence errors
   * @param commands at least one
   * @return the job
   */
  public static DmaJob of(String name, List<DmaCommand> commands) {
    Objects.requireNonNull(name, "name is null");
    if (commands.isEmpty()) {
      throw new IllegalArgumentException("job " + name + " has no commands");
    }
    return new DmaJob(name, commands);
  }

  /**
   * Starts a job.
   *
   * @param name for traces and fence errors
   * @return a builder
   */
  public static Builder builder(String name) {
    return new Builder(Objects.requireNonNull(name, "name is null"));
  }

  /** Collects the commands of a job. */
  public static final class Builder {
    private final String name;
    private final List<DmaCommand> commands = new ArrayList<>();

    private Builder(String name) {
      this.name = name;
    }

    /**
     * Adds a read of {@code words} words.
     *
     * @param mmu the translation context
     * @param va the first address, 8-byte aligned
     * @param words how many, at least 1
     * @return this
     */
    public Builder read(DeviceMmu mmu, long va, int words) {
      commands.add(DmaCommand.read(mmu, va, words));
      return this;
    }

    /**
     * Adds a write.
     *
     * @param mmu the translation context
     * @param va the first address, 8-byte aligned
     * @param data the words, at least one
     * @return this
     */
    public Builder write(DeviceMmu mmu, long va, long... data) {
      commands.add(DmaCommand.write(mmu, va, data));
      return this;
    }

    /**
     * Adds a wait until {@code gate} signals ({@link DmaCommand#await}).
     *
     * @param gate the fence
     * @return this
     */
    public Builder await(DmaFence gate) {
      commands.add(DmaCommand.await(gate));
      return this;
    }

    /**
     * Builds the job.
     *
     * @return the job
     */
    public DmaJob build() {
      return of(name, commands);
    }
  }

  /**
   * Returns the job's name.
   *
   * @return the name
   */
  public String name() {
    return name;
  }

  /**
   * Returns the commands.
   *
   * @return the commands, in order
   */
  public List<DmaCommand> commands() {
    return commands;
  }

  /**
   * Returns the job's fence.
   *
   * @return the fence
   * @throws IllegalStateException if the job was not submitted
   */
  public DmaFence fence() {
    DmaFence f = fence;
    if (f == null) {
      throw new IllegalStateException("job " + name + " was not submitted");
    }
    return f;
  }

  /**
   * Returns the error the job failed with.
   *
   * @return the fence's error; null if not done or successful
   */
  public @Nullable ErrnoException error() {
    DmaFence f = fence;
    return f == null ? null : f.error();
  }

  /**
   * Returns the words read by a {@link DmaCommand.Kind#READ} command.
   *
   * @param index the command's index in {@link #commands()}
   * @return a copy of the words
   * @throws IllegalStateException if the fence has not signaled, or the command did not complete
   *     (the job failed before or at it)
   * @throws IllegalArgumentException if the command is not a read
   */
  public long[] readResult(int index) {
    DmaCommand c = commands.get(index);
    if (c.kind() != DmaCommand.Kind.READ) {
      throw new IllegalArgumentException("command " + index + " of job " + name + " is a " + c);
    }
    DmaFence f = fence;
    if (f == null || !f.isSignaled()) {
      throw new IllegalStateException("job " + name + " has not completed");
    }
    long[] r = results[index];
    if (r == null) {
      throw new IllegalStateException(
          "command " + index + " of job " + name + " did not complete: " + f.error());
    }
    return r.clone();
  }

  /** Gives the job its fence and operations; called once by the engine before publishing it. */
  synchronized void submitted(DmaFence f) {
    if (fence != null) {
      throw new IllegalStateException("job " + name + " was already submitted");
    }
    Map<DeviceMmu, Long> ops = new IdentityHashMap<>();
    for (DmaCommand c : commands) {
      DeviceMmu mmu = c.mmu();
      if (mmu != null && !ops.containsKey(mmu)) {
        ops.put(mmu, mmu.beginOperation());
      }
    }
    operations = ops;
    fence = f;
  }

  /** The checker operation of {@code mmu} for this job. */
  long operation(DeviceMmu mmu) {
    Long operation = Objects.requireNonNull(operations, "job not submitted").get(mmu);
    return Objects.requireNonNull(operation, "the MMU is not one of the job's");
  }

  /** Stores the words read by command {@code index}; engine thread, before the fence signals. */
  void setResult(int index, long[] words) {
    results[index] = words;
  }

  @Override
  public String toString() {
    DmaFence f = fence;
    return "job " + name + (f == null ? "" : " (" + f.name() + ")");
  }
}
