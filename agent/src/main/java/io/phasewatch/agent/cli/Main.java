package io.phasewatch.agent.cli;

import java.util.logging.Level;
import java.util.logging.Logger;
import org.apache.kafka.clients.producer.KafkaProducer;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code java -jar phasewatch-agent.jar <command>}. Subcommands are added here as they exist; each
 * is a {@code Callable<Integer>} returning the exit code.
 */
@Command(
    name = "phasewatch-agent",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Feeds a training job's hidden-state geometry to phasewatch.",
    subcommands = {WatchCommand.class, CommandLine.HelpCommand.class})
public final class Main {

  // JUL keeps loggers weakly: without this reference the level set below could be forgotten.
  private static Logger kafkaLogger;

  private Main() {}

  public static void main(String[] args) {
    quietKafka();
    System.exit(run(args));
  }

  /** Runs the command line and returns its exit code (tests call this instead of main). */
  public static int run(String... args) {
    return new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true).execute(args);
  }

  /**
   * Kafka's client logs (through slf4j, bridged to JDK logging) every producer setting at INFO;
   * only its warnings matter to an operator. The logger name is taken from a class so that it is
   * right in the relocated jar too.
   */
  static void quietKafka() {
    String producer = KafkaProducer.class.getName();
    String kafkaRoot =
        producer.substring(0, producer.length() - ".clients.producer.KafkaProducer".length());
    kafkaLogger = Logger.getLogger(kafkaRoot);
    kafkaLogger.setLevel(Level.WARNING);
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"phasewatch-agent " + (v == null ? "(development build)" : v)};
    }
  }
}
