package io.mmulab.sim.gpu;

import io.mmulab.api.ErrnoException;
import io.mmulab.sim.dev.DmaCommand;
import io.mmulab.sim.dev.DmaFence;
import io.mmulab.sim.dev.DmaJob;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A GPU batch: reads and writes of user addresses (GPU VA == user VA) and waits on fences, run in
 * order by the GPU's command streamer through the translations of the VM it is submitted on ({@link
 * SimGpu#submit}). Submitted once. Its fence signals after its last access, with {@code EFAULT} if
 * a translation was missing on a VM without replayable faults, or a replayable fault was cancelled
 * (the remaining commands do not run).
 */
public final class GpuJob {
  private record Cmd(
      DmaCommand.Kind kind, long va, long @Nullable [] data, int words, @Nullable DmaFence gate) {}

  private final String name;
  private final List<Cmd> cmds;
  private volatile @Nullable DmaJob dmaJob; // set once by submit

  private GpuJob(String name, List<Cmd> cmds) {
    this.name = name;
    this.cmds = List.copyOf(cmds);
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

  /** Collects a job's commands. */
  public static final class Builder {
    private final String name;
    private final List<Cmd> cmds = new ArrayList<>();

    private Builder(String name) {
      this.name = name;
    }

    /**
     * Adds a read of {@code words} words from {@code va}.
     *
     * @param va an 8-byte aligned user (= GPU) address
     * @param words at least 1
     * @return this
     */
    public Builder read(long va, int words) {
      if (words < 1) {
        throw new IllegalArgumentException("a read moves at least one word: " + words);
      }
      cmds.add(new Cmd(DmaCommand.Kind.READ, va, null, words, null));
      return this;
    }

    /**
     * Adds a write of {@code data} to consecutive words from {@code va}.
     *
     * @param va an 8-byte aligned user (= GPU) address
     * @param data at least one word (copied)
     * @return this
     */
    public Builder write(long va, long... data) {
      if (data.length < 1) {
        throw new IllegalArgumentException("a write moves at least one word");
      }
      cmds.add(new Cmd(DmaCommand.Kind.WRITE, va, data.clone(), data.length, null));
      return this;
    }

    /**
     * Adds a wait until {@code gate} signals (a GPU semaphore wait): the job stays in flight, with
     * its fence unsignaled and the engine thread busy, until then. Signal the gate before shutting
     * the GPU down.
     *
     * @param gate the fence to wait for (any fence of the runtime, e.g. {@code new DmaFence(rt,
     *     "gate", 1)})
     * @return this
     */
    public Builder waitFor(DmaFence gate) {
      cmds.add(new Cmd(DmaCommand.Kind.WAIT, 0, null, 0, Objects.requireNonNull(gate, "gate")));
      return this;
    }

    /**
     * Builds the job.
     *
     * @return the job
     * @throws IllegalArgumentException if it has no commands
     */
    public GpuJob build() {
      if (cmds.isEmpty()) {
        throw new IllegalArgumentException("job " + name + " has no commands");
      }
      return new GpuJob(name, cmds);
    }
  }

  /**
   * Returns the name.
   *
   * @return the name
   */
  public String name() {
    return name;
  }

  /**
   * Returns the number of commands.
   *
   * @return the count
   */
  public int commandCount() {
    return cmds.size();
  }

  /**
   * Returns the job's fence.
   *
   * @return the fence, or null before submission
   */
  public @Nullable DmaFence fence() {
    DmaJob j = dmaJob;
    return j == null ? null : j.fence();
  }

  /**
   * Returns the error the job failed with.
   *
   * @return the fence's error; null if not done or successful
   */
  public @Nullable ErrnoException error() {
    DmaJob j = dmaJob;
    return j == null ? null : j.error();
  }

  /**
   * Returns the words read by read command {@code index}.
   *
   * @param index the command's index, in the order added
   * @return a copy of the words
   * @throws IllegalStateException if the job has not completed or failed before or at the command
   * @throws IllegalArgumentException if the command is not a read
   */
  public long[] readResult(int index) {
    DmaJob j = dmaJob;
    if (j == null) {
      throw new IllegalStateException("job " + name + " was not submitted");
    }
    return j.readResult(index);
  }

  /** The engine job running this job's commands through {@code vm}; once. */
  synchronized DmaJob toDmaJob(GpuVm vm) {
    if (dmaJob != null) {
      throw new IllegalStateException("job " + name + " was already submitted");
    }
    DmaJob.Builder b = DmaJob.builder(name + "@" + vm.deviceId());
    for (Cmd c : cmds) {
      switch (c.kind()) {
        case READ -> b.read(vm.mmu(), c.va(), c.words());
        case WRITE -> b.write(vm.mmu(), c.va(), Objects.requireNonNull(c.data()));
        case WAIT -> b.await(Objects.requireNonNull(c.gate()));
      }
    }
    DmaJob j = b.build();
    dmaJob = j;
    return j;
  }

  @Override
  public String toString() {
    return "GpuJob[" + name + "]";
  }
}
