package io.phasewatch.collector.ingest;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.logging.Filter;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.regex.Pattern;

/**
 * Rate-limits the Kafka client's connection warnings ("Connection to node 1 … could not be
 * established", "Bootstrap broker … disconnected"), which the client repeats at every reconnect
 * attempt: about two a second per client through a broker outage. Each kind of warning (the message
 * with its numbers blanked) passes at most once per interval; the next one to pass says how many
 * were held back. Everything below WARNING passes untouched, and levels are left alone.
 */
public final class ReconnectLogLimit implements Filter {

  /** The logger the client's reconnect warnings come from (through slf4j-jdk14). */
  static final String KAFKA_NETWORK_LOGGER = "org.apache.kafka.clients.NetworkClient";

  public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(30);

  private static final Pattern NUMBERS = Pattern.compile("-?[0-9]+");
  private static final int MAX_KINDS = 256;

  // Held strongly: java.util.logging keeps loggers only weakly, and with them their filters.
  private static Logger installedOn;

  private final long intervalNanos;
  private final LongSupplier nanoTime;
  private final Map<String, Kind> kinds = new HashMap<>();

  private static final class Kind {
    long passedAt;
    long heldBack;
  }

  ReconnectLogLimit(Duration interval, LongSupplier nanoTime) {
    this.intervalNanos = interval.toNanos();
    this.nanoTime = nanoTime;
  }

  /** Installs the limit on the Kafka client's network logger of this JVM; idempotent. */
  public static synchronized void install() {
    if (installedOn == null) {
      Logger logger = Logger.getLogger(KAFKA_NETWORK_LOGGER);
      logger.setFilter(new ReconnectLogLimit(DEFAULT_INTERVAL, System::nanoTime));
      installedOn = logger;
    }
  }

  @Override
  public synchronized boolean isLoggable(LogRecord r) {
    if (r.getLevel().intValue() < Level.WARNING.intValue() || r.getMessage() == null) {
      return true;
    }
    String key = NUMBERS.matcher(r.getMessage()).replaceAll("#");
    long now = nanoTime.getAsLong();
    Kind k = kinds.get(key);
    if (k == null) {
      if (kinds.size() >= MAX_KINDS) {
        kinds.clear();
      }
      k = new Kind();
      k.passedAt = now;
      kinds.put(key, k);
      return true;
    }
    if (now - k.passedAt < intervalNanos) {
      k.heldBack++;
      return false;
    }
    if (k.heldBack > 0) {
      r.setMessage(
          r.getMessage()
              + " ("
              + k.heldBack
              + " more like this in the last "
              + Duration.ofNanos(now - k.passedAt).toSeconds()
              + " s not logged)");
    }
    k.passedAt = now;
    k.heldBack = 0;
    return true;
  }
}
