package io.mmulab.sim.sched;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Constructor;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.Executor;
import org.jspecify.annotations.Nullable;

/**
 * The kind of Java thread that carries each simulated thread. The schedule is the scheduler's alone
 * (exactly one simulated thread runs between two scheduling points, and the choice list decides
 * which), so the kind changes only how fast a hand-off is, never a choice, a trace or a verdict.
 *
 * <p>Virtual threads hand the baton over in well under a microsecond, platform threads in about
 * ten, so {@link #VIRTUAL} is the default wherever the running JDK has them (21 and later). The
 * project is built for release 17, so the virtual-thread builder is looked up at run time.
 *
 * <p>Where the JVM opens {@code java.lang} to this code ({@code --add-opens
 * java.base/java.lang=ALL-UNNAMED}, which the {@code mmulab} jar's manifest and the build's tests
 * do), a run's virtual threads are carried by the thread that runs it ({@link RunCarrier}) rather
 * than by the JDK's shared carrier pool: the JDK has no public way to choose a virtual thread's
 * carrier yet, so its builder's package-private constructor that takes one is used. Elsewhere they
 * run on the shared pool, a little slower and with the same schedule.
 *
 * <p>The system property {@value #PROPERTY} ({@code platform} or {@code virtual}) forces one kind,
 * for comparisons.
 */
public enum ThreadKind {
  /** One operating-system thread per simulated thread; every JDK has them. */
  PLATFORM,
  /** One virtual thread per simulated thread; JDK 21 and later. */
  VIRTUAL;

  /** The system property that selects the kind: {@code platform} or {@code virtual}. */
  public static final String PROPERTY = "mmulab.sim.threads";

  /** {@code Thread.ofVirtual()}, or null where the JDK has no virtual threads. */
  private static final @Nullable MethodHandle OF_VIRTUAL;

  /** {@code Thread.Builder.name(String)}. */
  private static final @Nullable MethodHandle NAME;

  /** {@code Thread.Builder.unstarted(Runnable)}. */
  private static final @Nullable MethodHandle UNSTARTED;

  /** {@code Thread.isVirtual()}, or null before JDK 21. */
  private static final @Nullable MethodHandle IS_VIRTUAL;

  /** The JDK's virtual-thread builder on a given carrier executor, or null where not open. */
  private static final @Nullable MethodHandle OF_VIRTUAL_ON;

  static {
    MethodHandle ofVirtual = null;
    MethodHandle name = null;
    MethodHandle unstarted = null;
    MethodHandle isVirtual = null;
    try {
      MethodHandles.Lookup lookup = MethodHandles.publicLookup();
      Class<?> builder = Class.forName("java.lang.Thread$Builder");
      Class<?> ofVirtualType = Class.forName("java.lang.Thread$Builder$OfVirtual");
      ofVirtual =
          lookup.findStatic(Thread.class, "ofVirtual", MethodType.methodType(ofVirtualType));
      name = lookup.findVirtual(builder, "name", MethodType.methodType(builder, String.class));
      unstarted =
          lookup.findVirtual(
              builder, "unstarted", MethodType.methodType(Thread.class, Runnable.class));
      isVirtual =
          lookup.findVirtual(Thread.class, "isVirtual", MethodType.methodType(boolean.class));
    } catch (ReflectiveOperationException notThere) {
      ofVirtual = null; // JDK 17-20: platform threads only
      isVirtual = null;
    }
    OF_VIRTUAL = ofVirtual;
    NAME = name;
    UNSTARTED = unstarted;
    IS_VIRTUAL = isVirtual;
    OF_VIRTUAL_ON = ofVirtual == null ? null : builderOnCarrier();
  }

  private static @Nullable MethodHandle builderOnCarrier() {
    try {
      Constructor<?> c =
          Class.forName("java.lang.ThreadBuilders$VirtualThreadBuilder")
              .getDeclaredConstructor(Executor.class);
      c.setAccessible(true);
      return MethodHandles.lookup().unreflectConstructor(c);
    } catch (ReflectiveOperationException | RuntimeException closed) {
      return null; // java.lang not opened to us: the shared carrier pool
    }
  }

  /** Returns whether {@code t} is a virtual thread. */
  static boolean isVirtual(Thread t) {
    if (IS_VIRTUAL == null) {
      return false;
    }
    try {
      return (boolean) IS_VIRTUAL.invoke(t);
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Throwable impossible) {
      throw new IllegalStateException("Thread.isVirtual failed", impossible);
    }
  }

  /**
   * Returns whether a run's virtual threads can be carried by the thread that runs it.
   *
   * @return true where virtual threads exist and {@code java.lang} is open to this code
   */
  static boolean ownCarrierAvailable() {
    return OF_VIRTUAL_ON != null;
  }

  /**
   * Returns whether the running JDK has virtual threads.
   *
   * @return true on JDK 21 and later
   */
  public static boolean virtualAvailable() {
    return OF_VIRTUAL != null;
  }

  /**
   * Returns the kind selected by {@value #PROPERTY}, or the fastest the JDK offers when it is not
   * set.
   *
   * @return the kind
   * @throws IllegalArgumentException if the property names no kind, or names {@code virtual} on a
   *     JDK without virtual threads
   */
  public static ThreadKind selected() {
    String value = System.getProperty(PROPERTY);
    if (value == null || value.isBlank()) {
      return virtualAvailable() ? VIRTUAL : PLATFORM;
    }
    ThreadKind kind;
    try {
      kind = valueOf(value.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "-D" + PROPERTY + "=" + value + " names no thread kind: use platform or virtual", e);
    }
    if (kind == VIRTUAL && !virtualAvailable()) {
      throw new IllegalArgumentException(
          "-D"
              + PROPERTY
              + "=virtual needs JDK 21 or later; this is Java "
              + Runtime.version().feature());
    }
    return kind;
  }

  /**
   * Returns a new, unstarted daemon thread of this kind.
   *
   * @param name the thread's name
   * @param body what it runs
   * @return the thread
   * @throws IllegalStateException for {@link #VIRTUAL} on a JDK without virtual threads
   */
  public Thread newThread(String name, Runnable body) {
    return newThread(name, body, null);
  }

  /**
   * Returns a new, unstarted daemon thread of this kind; a virtual one runs on {@code carrier} when
   * that is not null.
   */
  Thread newThread(String name, Runnable body, @Nullable Executor carrier) {
    if (this == PLATFORM) {
      Thread t = new Thread(null, body, name, 0);
      t.setDaemon(true);
      return t;
    }
    if (!virtualAvailable()) {
      throw new IllegalStateException(
          "virtual threads need JDK 21 or later; this is Java " + Runtime.version().feature());
    }
    try {
      // virtualAvailable() said the builder handles exist; a carrier is given only where open.
      Object builder =
          carrier == null
              ? Objects.requireNonNull(OF_VIRTUAL).invoke()
              : Objects.requireNonNull(OF_VIRTUAL_ON, "no carrier builder").invoke(carrier);
      builder = Objects.requireNonNull(NAME).invoke(builder, name);
      return (Thread) Objects.requireNonNull(UNSTARTED).invoke(builder, body);
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Throwable impossible) {
      throw new IllegalStateException("cannot create a virtual thread", impossible);
    }
  }

  /**
   * Returns the name used in messages and in {@value #PROPERTY}.
   *
   * @return {@code platform} or {@code virtual}
   */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
