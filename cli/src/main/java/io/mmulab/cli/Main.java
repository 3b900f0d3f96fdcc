package io.mmulab.cli;

import java.io.Console;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ExecutionException;
import picocli.CommandLine.Help;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.RunLast;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * The {@code mmulab} command: {@code run} (the default), {@code explore}, {@code replay}, {@code
 * merge} and {@code drivers}. Exit codes: 0 all good, 1 a consolidated variant had a violation or a
 * declared race was not reproduced, 2 bad arguments or an unusable plugin jar (one line naming the
 * bad value or the jar, no stack trace).
 *
 * <p>Drivers come from the CLI's own class path and from plugin jars: {@code --plugins PATH} (a jar
 * or a folder of jars, repeatable, before or after the command), plus {@code $MMULAB_PLUGINS} if
 * set, else the {@code plugins} folder beside {@code mmulab.jar} if it exists.
 */
@Command(
    name = "mmulab",
    mixinStandardHelpOptions = true,
    version = "mmulab 0.1.0",
    description = {
      "Runs every driver against every scenario under the deterministic scheduler, explores seed"
          + " sweeps (merging sharded ones) and draws a race as a swimlane timeline.",
      "Without a command: run."
    },
    subcommands = {
      RunCommand.class,
      ExploreCommand.class,
      ReplayCommand.class,
      MergeCommand.class,
      DriversCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Main implements Runnable {
  /** Exit code: a consolidated variant had a violation, or a declared race was not reproduced. */
  static final int EXIT_FAILED = 1;

  /** Exit code: bad arguments. */
  static final int EXIT_USAGE = 2;

  @Spec private CommandSpec spec;

  @Option(
      names = "--plugins",
      paramLabel = "PATH",
      scope = ScopeType.INHERIT,
      description =
          "A driver plugin jar, or a folder of them, to load besides the built-in drivers; may"
              + " repeat. Also loaded: $MMULAB_PLUGINS if set, else the plugins folder beside"
              + " mmulab.jar.")
  private List<Path> plugins = new ArrayList<>();

  private boolean terminal;

  /** For picocli. */
  public Main() {}

  /**
   * Runs the command line and exits with its code.
   *
   * @param args the arguments
   */
  public static void main(String[] args) {
    PrintWriter out = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
    PrintWriter err = new PrintWriter(System.err, true, StandardCharsets.UTF_8);
    System.exit(execute(out, err, args));
  }

  /**
   * Runs the command line in this process.
   *
   * @param out where results go
   * @param err where progress and errors go
   * @param args the arguments; none means {@code run}
   * @return the exit code
   */
  public static int execute(PrintWriter out, PrintWriter err, String... args) {
    return execute(out, err, isTerminal(), args);
  }

  /**
   * Runs the command line in this process, told whether its output goes to a terminal.
   *
   * @param out where results go
   * @param err where progress and errors go
   * @param terminal true for a progress line rewritten in place and picocli's automatic colours;
   *     false for plain progress lines and no colour codes at all
   * @param args the arguments; none means {@code run}
   * @return the exit code
   */
  static int execute(PrintWriter out, PrintWriter err, boolean terminal, String... args) {
    return execute(out, err, terminal, System.getenv(), Plugins.cliJar(), args);
  }

  /**
   * Runs the command line in this process with the given environment and CLI jar, which decide the
   * default plugin folder.
   *
   * @param out where results go
   * @param err where progress and errors go
   * @param terminal as {@link #execute(PrintWriter, PrintWriter, boolean, String...)}
   * @param env the environment ({@code MMULAB_PLUGINS})
   * @param cliJar the jar the CLI runs from, or null
   * @param args the arguments; none means {@code run}
   * @return the exit code
   */
  static int execute(
      PrintWriter out,
      PrintWriter err,
      boolean terminal,
      Map<String, String> env,
      @Nullable Path cliJar,
      String... args) {
    Main main = new Main();
    main.terminal = terminal;
    CommandLine cmd = new CommandLine(main);
    cmd.setOut(out);
    cmd.setErr(err);
    cmd.setColorScheme(Help.defaultColorScheme(terminal ? Help.Ansi.AUTO : Help.Ansi.OFF));
    cmd.setParameterExceptionHandler(Main::oneLine);
    cmd.setExecutionStrategy(
        parsed -> {
          List<Path> paths = new ArrayList<>(Plugins.defaults(env, cliJar));
          paths.addAll(main.plugins);
          try {
            return Catalog.withPlugins(paths, () -> new RunLast().execute(parsed));
          } catch (Plugins.PluginException e) {
            return unusablePlugin(err, e);
          } catch (ExecutionException e) {
            if (e.getCause() instanceof Plugins.PluginException p) {
              return unusablePlugin(err, p);
            }
            throw e;
          }
        });
    int code = cmd.execute(args.length == 0 ? new String[] {"run"} : args);
    out.flush();
    err.flush();
    return code;
  }

  /**
   * Tells whether this process talks to a terminal: {@link System#console()} is null when standard
   * input or output is redirected up to JDK 21; JDK 22 to 24 may return a console anyway, which
   * then answers {@code isTerminal()} (looked up by name, as release 17 does not have it).
   */
  private static boolean isTerminal() {
    Console console = System.console();
    if (console == null) {
      return false;
    }
    try {
      return (Boolean) Console.class.getMethod("isTerminal").invoke(console);
    } catch (NoSuchMethodException e) {
      return true;
    } catch (ReflectiveOperationException e) {
      return false;
    }
  }

  /**
   * Returns a progress line for a job, in the form that suits where stderr goes.
   *
   * @param err where to print it
   * @param total how many units the job has
   * @return the progress line
   */
  Progress progress(PrintWriter err, long total) {
    return new Progress(err, total, System::nanoTime, terminal);
  }

  /** Prints a usage error as one line, without the usage text or a stack trace. */
  private static int oneLine(ParameterException e, String[] args) {
    CommandLine cmd = e.getCommandLine();
    PrintWriter err = cmd.getErr();
    String message =
        String.valueOf(e.getMessage()).replace(System.lineSeparator(), " ").replace('\n', ' ');
    if (e instanceof UnmatchedArgumentException u
        && cmd.getParent() == null
        && !u.getUnmatched().isEmpty()
        && !u.getUnmatched().get(0).startsWith("-")) {
      message =
          "unknown command '"
              + u.getUnmatched().get(0)
              + "'; commands: "
              + String.join(", ", cmd.getSubcommands().keySet());
    }
    err.println("mmulab: " + message.strip() + " (see: mmulab " + path(cmd) + "--help)");
    err.flush();
    return EXIT_USAGE;
  }

  private static int unusablePlugin(PrintWriter err, Plugins.PluginException e) {
    err.println("mmulab: " + e.getMessage());
    err.flush();
    return EXIT_USAGE;
  }

  private static String path(CommandLine cmd) {
    String path = cmd.getCommandSpec().qualifiedName(" ");
    return path.equals("mmulab") ? "" : path.substring("mmulab ".length()) + " ";
  }

  @Override
  public void run() {
    throw new ParameterException(
        spec.commandLine(),
        "missing command; commands: "
            + String.join(", ", spec.commandLine().getSubcommands().keySet()));
  }
}
