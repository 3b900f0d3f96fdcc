package io.mmulab.sim.check;

import io.mmulab.api.driver.ViolationKind;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One broken rule, as the {@link CoherencyChecker} saw it.
 *
 * @param kind the rule
 * @param deviceId the device (or {@code "cpu"}, {@code "kernel"} for host accesses) that broke it
 * @param mm the address space involved, or null if none
 * @param va the virtual address involved, or {@link CoherencyChecker#NO_VA}
 * @param pfn the frame involved, or {@link CoherencyChecker#NO_PFN}
 * @param message what happened and why it is wrong, with the event numbers ({@code #n}) involved
 * @param trace the last events the checker saw, oldest first, ending with the one that broke the
 *     rule
 */
public record Violation(
    ViolationKind kind,
    String deviceId,
    @Nullable String mm,
    long va,
    long pfn,
    String message,
    List<String> trace) {

  /** Copies the trace. */
  public Violation {
    Objects.requireNonNull(kind, "kind is null");
    Objects.requireNonNull(message, "message is null");
    trace = List.copyOf(trace);
  }

  /**
   * One line: kind, device, address, frame and message, without the trace.
   *
   * @return the summary
   */
  public String summary() {
    return kind
        + " by "
        + deviceId
        + (mm == null ? "" : " in " + mm)
        + (va == CoherencyChecker.NO_VA ? "" : " va=0x" + Long.toHexString(va))
        + (pfn == CoherencyChecker.NO_PFN ? "" : " pfn=" + pfn)
        + ": "
        + message;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder(summary());
    sb.append("\n  trace (oldest first):");
    for (String line : trace) {
      sb.append("\n    ").append(line);
    }
    return sb.toString();
  }
}
