package io.mmulab.api;

import java.util.Objects;

/**
 * Thrown when a caller breaks a locking or lifetime rule of the notifier contract (see {@link
 * LockRule}). The call that detects the violation leaves every structure exactly as it was before
 * the call.
 */
public final class LockRuleViolation extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final LockRule rule;

  /**
   * Creates a violation of {@code rule}.
   *
   * @param rule the rule that was broken
   * @param detail what the caller did, naming the objects involved
   */
  public LockRuleViolation(LockRule rule, String detail) {
    super(Objects.requireNonNull(rule, "rule is null") + ": " + detail);
    this.rule = rule;
  }

  /**
   * Returns the rule that was broken.
   *
   * @return the rule
   */
  public LockRule rule() {
    return rule;
  }
}
