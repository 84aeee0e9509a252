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
    subcommands = {WatchCommand.class, AttachCommand.class, CommandLine.HelpCommand.class})
public final class Main {

  // JUL keeps loggers weakly: without this reference the level set below could be forgotten.
  private static Logger kafkaLogger;

  private Main() {}

  public static void main(String[] args) {
    oneLineLogs();
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
    kafkaLogLevel(Level.WARNING);
  }

  /** Sets the level of the Kafka client's loggers (key {@code spool.kafka-log-level}). */
  static void kafkaLogLevel(Level level) {
    String producer = KafkaProducer.class.getName();
    String kafkaRoot =
        producer.substring(0, producer.length() - ".clients.producer.KafkaProducer".length());
    kafkaLogger = Logger.getLogger(kafkaRoot);
    kafkaLogger.setLevel(level);
  }

  /**
   * One line per log record (time, level, message) instead of JDK logging's two-line default, so
   * the first line the sidecar prints is its start-up line. A format the user set is kept.
   */
  static void oneLineLogs() {
    String key = "java.util.logging.SimpleFormatter.format";
    if (System.getProperty(key) == null) {
      System.setProperty(key, "%1$tF %1$tT %4$s %5$s%6$s%n");
    }
  }

  /** "phasewatch-agent 0.1.0", or "(development build)" outside the jar. */
  static String version() {
    return new Version().getVersion()[0];
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"phasewatch-agent " + (v == null ? "(development build)" : v)};
    }
  }
}
