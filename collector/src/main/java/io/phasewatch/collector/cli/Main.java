package io.phasewatch.collector.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code java -jar phasewatch-collector.jar <command>}; {@code --help} lists the commands. */
@Command(
    name = "phasewatch-collector",
    mixinStandardHelpOptions = true,
    version = io.phasewatch.collector.service.ServeCommand.VERSION,
    description = "Watches the representation geometry of a language model while it trains.",
    // One line per command: add new subcommands here.
    subcommands = {
      AnalyzeCommand.class,
      io.phasewatch.collector.service.ServeCommand.class,
      CommandLine.HelpCommand.class,
    })
public final class Main implements Runnable {

  @CommandLine.Spec private CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    // One line per log record (time, level, message) instead of JDK logging's two-line default,
    // so serve's start-up line is the first line it prints. A format the user set is kept.
    String format = "java.util.logging.SimpleFormatter.format";
    if (System.getProperty(format) == null) {
      System.setProperty(format, "%1$tF %1$tT %4$s %5$s%6$s%n");
    }
    System.exit(commandLine().execute(args));
  }

  /** The configured command line, for tests that capture its output. */
  public static CommandLine commandLine() {
    return new CommandLine(new Main());
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }
}
