package io.phasewatch.collector.service;

import io.phasewatch.collector.config.CollectorConfig;
import io.phasewatch.collector.config.ConfigLoader;
import io.phasewatch.collector.metrics.MetricNames;
import io.phasewatch.collector.spectrum.Spectrum;
import io.phasewatch.core.config.ConfigException;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code phasewatch-collector serve}: runs the collector until the process is stopped. */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description = {
      "Consumes sketch snapshots from Kafka, computes spectra and phases, serves /metrics and /api.",
      "Keys and defaults: docs/configuration.md (## Collector)."
    })
public final class ServeCommand implements Callable<Integer> {

  /** Name and version, as {@code --version} and the first line of {@code serve} print them. */
  public static final String VERSION = "phasewatch 0.1.0";

  private static final Logger LOG = Logger.getLogger(ServeCommand.class.getName());

  /** The first status line comes this soon after start, the next ones every {@link #STATUS}. */
  static final Duration FIRST_STATUS = Duration.ofSeconds(30);

  static final Duration STATUS = Duration.ofMinutes(5);

  // JDK logging holds loggers weakly: this keeps the level set on the Kafka client's loggers.
  private static Logger kafkaLogger;

  /** Exit code of a configuration error, as picocli uses for a bad option. */
  public static final int CONFIG_ERROR = 2;

  @Spec CommandSpec spec;

  @Option(
      names = {"-c", "--config"},
      paramLabel = "FILE",
      description = "YAML configuration file.")
  Path configFile;

  @Option(
      names = {"-s", "--set"},
      paramLabel = "KEY=VALUE",
      description = "Overrides one key (repeatable), e.g. --set http.port=9091.")
  Map<String, String> overrides = new LinkedHashMap<>();

  @Option(
      names = "--bootstrap-servers",
      paramLabel = "HOSTS",
      description = "Shorthand for --set kafka.bootstrap-servers=HOSTS.")
  String bootstrapServers;

  @Option(
      names = "--http-port",
      paramLabel = "PORT",
      description = "Shorthand for --set http.port=PORT.")
  Integer httpPort;

  @Override
  public Integer call() throws Exception {
    Map<String, String> flags = new LinkedHashMap<>(overrides);
    if (bootstrapServers != null) {
      flags.put("kafka.bootstrap-servers", bootstrapServers);
    }
    if (httpPort != null) {
      flags.put("http.port", httpPort.toString());
    }
    CollectorConfig config;
    try {
      config = ConfigLoader.load(configFile, flags);
    } catch (ConfigException e) {
      // An operator's mistake, not a bug: one line naming the key, no stack trace.
      spec.commandLine().getErr().println("phasewatch-collector serve: " + e.getMessage());
      spec.commandLine().getErr().flush();
      return CONFIG_ERROR;
    }
    kafkaLogger = Logger.getLogger("org.apache.kafka");
    kafkaLogger.setLevel(config.kafka().clientLogLevel());
    Vertx vertx = Vertx.vertx();
    CountDownLatch stopped = new CountDownLatch(1);
    // Logged before anything starts, so it is the first line; a port chosen at start (http.port
    // 0) follows once bound.
    LOG.info(startLine(config, config.http().port()));
    CollectorService service = CollectorService.start(vertx, config).await(120, TimeUnit.SECONDS);
    if (config.http().port() == 0) {
      LOG.info("serving on http://" + config.http().host() + ":" + service.httpPort());
    }
    vertx.setTimer(
        FIRST_STATUS.toMillis(),
        t -> {
          LOG.info(statusLine(service));
          vertx.setPeriodic(STATUS.toMillis(), p -> LOG.info(statusLine(service)));
        });
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  service
                      .close()
                      .transform(v -> vertx.close())
                      .onComplete(v -> stopped.countDown());
                  try {
                    stopped.await(20, TimeUnit.SECONDS);
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                },
                "phasewatch-shutdown"));
    stopped.await();
    return 0;
  }

  /** Version, where it listens and reads, and how it computes: the first line serve logs. */
  static String startLine(CollectorConfig config, int httpPort) {
    return VERSION
        + " serve: http://"
        + config.http().host()
        + ":"
        + httpPort
        + (httpPort == 0 ? " (port chosen at start)" : "")
        + " (/metrics, /api, live page /), consuming topic "
        + config.kafka().topic()
        + " from "
        + config.kafka().bootstrapServers()
        + " as group "
        + config.kafka().groupId()
        + ", spectrum on "
        + Spectrum.solver()
        + ", alpha fit "
        + config.analysis().fitRange();
  }

  /** What the collector has done so far, from its own meters. */
  static String statusLine(CollectorService service) {
    var r = service.registry();
    return String.format(
        java.util.Locale.ROOT,
        "collector status: consumer %s, runs live %.0f, snapshots ingested %.0f, rejected %.0f,"
            + " duplicates %.0f, windows merged %.0f, consumer lag %.0f records",
        r.get(MetricNames.CONSUMER_READY).gauge().value() == 1 ? "ready" : "not ready",
        r.get(MetricNames.RUNS_LIVE).gauge().value(),
        r.get(MetricNames.SNAPSHOTS_INGESTED).counter().count(),
        sum(r, MetricNames.RECORDS_REJECTED),
        r.get(MetricNames.SNAPSHOTS_DUPLICATE).counter().count(),
        sum(r, MetricNames.MERGES),
        r.get(MetricNames.CONSUMER_LAG_RECORDS).gauge().value());
  }

  private static double sum(io.micrometer.core.instrument.MeterRegistry r, String counter) {
    return r.find(counter).counters().stream()
        .mapToDouble(io.micrometer.core.instrument.Counter::count)
        .sum();
  }
}
