package io.phasewatch.collector.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code java -jar phasewatch-collector.jar <command>}; {@code --help} lists the commands. */
@Command(
    name = "phasewatch-collector",
    mixinStandardHelpOptions = true,
    version = "phasewatch 0.1.0",
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
