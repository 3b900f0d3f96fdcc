package io.mmulab.testkit;

import java.util.Objects;
import java.util.SortedSet;
import java.util.TreeSet;

/** A driver name that no plugin on the class path registered; the message lists the known ones. */
public final class UnknownDriverException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final String name;
  private final SortedSet<String> known;

  /**
   * Creates the exception.
   *
   * @param name the name asked for
   * @param known the names that are registered
   */
  public UnknownDriverException(String name, java.util.Collection<String> known) {
    super(message(name, known));
    this.name = name;
    this.known = new TreeSet<>(known);
  }

  /**
   * Returns the name asked for.
   *
   * @return the unknown name
   */
  public String name() {
    return name;
  }

  /**
   * Returns the registered names.
   *
   * @return sorted, unmodifiable
   */
  public SortedSet<String> known() {
    return java.util.Collections.unmodifiableSortedSet(known);
  }

  private static String message(String name, java.util.Collection<String> known) {
    Objects.requireNonNull(known, "known is null");
    return "unknown driver '"
        + name
        + "'; "
        + (known.isEmpty()
            ? "no driver is registered (is a driver module on the class path, with its"
                + " META-INF/services/io.mmulab.api.driver.DriverPlugin?)"
            : "known drivers: " + String.join(", ", new TreeSet<>(known)));
  }
}
