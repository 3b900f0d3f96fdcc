package io.mmulab.sim.dev;

import java.util.Arrays;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One command of a {@link DmaJob}: read {@link #words()} consecutive words from {@link #va()}, or
 * write {@link #data()} there, through the translations of {@link #mmu()}; or wait until a fence
 * signals ({@link Kind#WAIT}, a GPU semaphore wait: holds the job, and its engine thread, in
 * flight). Immutable.
 */
public final class DmaCommand {
  /** What a command does. */
  public enum Kind {
    /** DMA from memory into the job's result. */
    READ,
    /** DMA from the command's data into memory. */
    WRITE,
    /** Wait until {@link #gate()} signals (whatever its error), touching no memory. */
    WAIT
  }

  private final Kind kind;
  private final @Nullable DeviceMmu mmu; // null: WAIT
  private final long va;
  private final long @Nullable [] data; // WRITE only
  private final int words;
  private final @Nullable DmaFence gate; // WAIT only

  private DmaCommand(DmaFence gate) {
    this.kind = Kind.WAIT;
    this.mmu = null;
    this.va = 0;
    this.data = null;
    this.words = 0;
    this.gate = Objects.requireNonNull(gate, "gate is null");
  }

  private DmaCommand(Kind kind, DeviceMmu mmu, long va, long @Nullable [] data, int words) {
    this.kind = kind;
    this.gate = null;
    this.mmu = Objects.requireNonNull(mmu, "mmu is null");
    if ((va & (Long.BYTES - 1)) != 0) {
      throw new IllegalArgumentException("DMA address 0x" + Long.toHexString(va) + " is unaligned");
    }
    if (words < 1) {
      throw new IllegalArgumentException("a DMA command moves at least one word: " + words);
    }
    this.va = va;
    this.data = data;
    this.words = words;
  }

  /**
   * A read of {@code words} words from {@code va}.
   *
   * @param mmu the translation context
   * @param va the first address, 8-byte aligned
   * @param words how many, at least 1
   * @return the command
   */
  public static DmaCommand read(DeviceMmu mmu, long va, int words) {
    return new DmaCommand(Kind.READ, mmu, va, null, words);
  }

  /**
   * A write of {@code data} to consecutive words from {@code va}.
   *
   * @param mmu the translation context
   * @param va the first address, 8-byte aligned
   * @param data the words, at least one (copied)
   * @return the command
   */
  public static DmaCommand write(DeviceMmu mmu, long va, long... data) {
    return new DmaCommand(Kind.WRITE, mmu, va, data.clone(), data.length);
  }

  /**
   * A wait until {@code gate} signals: the engine thread running the job blocks there
   * (uninterruptibly: signal the gate before shutting the engine down).
   *
   * @param gate the fence to wait for
   * @return the command
   */
  public static DmaCommand await(DmaFence gate) {
    return new DmaCommand(gate);
  }

  /**
   * Returns the fence a {@link Kind#WAIT} waits for.
   *
   * @return the gate, or null for a read or write
   */
  public @Nullable DmaFence gate() {
    return gate;
  }

  /**
   * Returns the kind.
   *
   * @return read or write
   */
  public Kind kind() {
    return kind;
  }

  /**
   * Returns the translation context.
   *
   * @return the device page table the command goes through; null for a {@link Kind#WAIT}
   */
  public @Nullable DeviceMmu mmu() {
    return mmu;
  }

  /**
   * Returns the first address.
   *
   * @return the address
   */
  public long va() {
    return va;
  }

  /**
   * Returns how many words the command moves.
   *
   * @return the count
   */
  public int words() {
    return words;
  }

  /**
   * Returns the words a write stores.
   *
   * @return a copy, or null for a read
   */
  public long @Nullable [] data() {
    return data == null ? null : data.clone();
  }

  /** The data without copying, for the engine. */
  long[] dataRef() {
    return Objects.requireNonNull(data, "a WRITE command has data");
  }

  @Override
  public String toString() {
    if (kind == Kind.WAIT) {
      return "WAIT " + Objects.requireNonNull(gate).name();
    }
    return kind
        + " "
        + Objects.requireNonNull(mmu).deviceId()
        + " 0x"
        + Long.toHexString(va)
        + " x"
        + words
        + (data == null ? "" : " " + Arrays.toString(data));
  }
}
