package io.phasewatch.collector.service;

import io.phasewatch.collector.config.CollectorConfig;
import io.phasewatch.collector.config.ConfigLoader;
import io.phasewatch.collector.spectrum.Spectrum;
import io.phasewatch.core.config.ConfigException;
import io.vertx.core.Vertx;
import java.nio.file.Path;
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

  private static final Logger LOG = Logger.getLogger(ServeCommand.class.getName());

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
    Vertx vertx = Vertx.vertx();
    CountDownLatch stopped = new CountDownLatch(1);
    CollectorService service = CollectorService.start(vertx, config).await(120, TimeUnit.SECONDS);
    LOG.info(
        "collector serving on http://"
            + config.http().host()
            + ":"
            + service.httpPort()
            + ", consuming "
            + config.kafka().topic()
            + " from "
            + config.kafka().bootstrapServers()
            + ", spectrum on "
            + Spectrum.solver());
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
}
