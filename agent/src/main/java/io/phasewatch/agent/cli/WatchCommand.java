package io.phasewatch.agent.cli;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.phasewatch.agent.spool.MetricsEndpoint;
import io.phasewatch.agent.spool.SidecarConfig;
import io.phasewatch.agent.spool.SpoolSidecar;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code watch --spool DIR}: the spool sidecar. Runs until stopped (SIGTERM, Ctrl-C), then gives
 * pending snapshots {@code --drain-timeout} to reach the broker; with {@code --once} it drains what
 * is there now and exits.
 */
@Command(
    name = "watch",
    mixinStandardHelpOptions = true,
    description = {
      "Drains a spool folder of hidden-state files into sketches published to Kafka.",
      "Reads .npy, .npz and .safetensors files named as docs/spool.md says.",
      "With --checkpoints DIR --probe FILE instead: runs a fixed probe set through each new"
          + " TorchScript checkpoint in DIR (docs/attach.md)."
    })
final class WatchCommand implements Callable<Integer> {

  @Option(names = "--spool", paramLabel = "DIR", description = "the spool folder (spool.dir)")
  Path spool;

  @Mixin CheckpointOptions checkpoints = new CheckpointOptions();

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description = "YAML with agent keys (sketch, publish, kafka) and a spool section")
  Path config;

  @Option(
      names = "--bootstrap-servers",
      paramLabel = "HOST:PORT[,...]",
      description = "Kafka bootstrap servers (kafka.bootstrap.servers)")
  String bootstrapServers;

  @Option(
      names = "--set",
      paramLabel = "KEY=VALUE",
      description = "any configuration key, e.g. --set spool.keep-done=true (repeatable)")
  Map<String, String> set = new LinkedHashMap<>();

  @Option(names = "--once", description = "drain what the spool holds now, then exit")
  boolean once;

  @Option(
      names = "--drain-timeout",
      paramLabel = "SECONDS",
      defaultValue = "10",
      description =
          "how long pending snapshots may take to reach the broker at exit (${DEFAULT-VALUE})")
  long drainSeconds;

  @Option(
      names = "--metrics-port",
      paramLabel = "PORT",
      description =
          "serve the sidecar's meters (spool and publisher, outbox included) at"
              + " http://HOST:PORT/metrics; off when not given")
  Integer metricsPort;

  @Option(
      names = "--metrics-host",
      paramLabel = "HOST",
      defaultValue = "127.0.0.1",
      description = "address of --metrics-port (${DEFAULT-VALUE}; 0.0.0.0 in a pod)")
  String metricsHost;

  @Override
  public Integer call() throws Exception {
    if (checkpoints.requested() == (spool != null)) {
      System.err.println("phasewatch-agent watch: give one of --spool DIR or --checkpoints DIR");
      return 2;
    }
    if (checkpoints.requested()) {
      Map<String, String> agentFlags = new LinkedHashMap<>(set);
      if (bootstrapServers != null) {
        agentFlags.put("kafka.bootstrap.servers", bootstrapServers);
      }
      return checkpoints.run(
          CheckpointOptions.readYaml(config),
          agentFlags,
          once,
          Duration.ofSeconds(drainSeconds),
          System.err);
    }
    Map<String, String> flags = new LinkedHashMap<>(set);
    flags.put("spool.dir", spool.toString());
    if (bootstrapServers != null) {
      flags.put("kafka.bootstrap.servers", bootstrapServers);
    }
    String yaml = config == null ? "" : Files.readString(config, StandardCharsets.UTF_8);
    SidecarConfig cfg;
    try {
      cfg = SidecarConfig.load(yaml, System.getenv(), flags);
      checkCompression(cfg.agent().publish().kafka().getOrDefault("compression.type", "lz4"));
    } catch (IllegalArgumentException e) {
      System.err.println("phasewatch-agent watch: " + e.getMessage());
      return 2;
    }
    Main.kafkaLogLevel(cfg.spool().kafkaLogLevel());
    java.util.logging.Logger.getLogger(WatchCommand.class.getName()).info(startLine(cfg));
    var registry = new SimpleMeterRegistry();
    var sidecar = SpoolSidecar.withKafka(cfg, registry);
    MetricsEndpoint endpoint =
        metricsPort == null ? null : MetricsEndpoint.start(registry, metricsHost, metricsPort);
    if (once) {
      sidecar.drainOnce();
      sidecar.close(Duration.ofSeconds(drainSeconds));
      if (endpoint != null) {
        endpoint.close();
      }
      return 0;
    }
    var stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  sidecar.close(Duration.ofSeconds(drainSeconds));
                  if (endpoint != null) {
                    endpoint.close();
                  }
                  // JDK logging closes its handlers in a shutdown hook of its own; the last
                  // summary goes straight to stderr so it is never lost.
                  System.err.println(sidecar.summary());
                  stopped.countDown();
                },
                "phasewatch-shutdown"));
    sidecar.start();
    stopped.await();
    return 0;
  }

  /** What the sidecar reads and where it sends, as its first log line. */
  static String startLine(SidecarConfig cfg) {
    var publish = cfg.agent().publish();
    return Main.version()
        + " watch: reading "
        + cfg.spool().dir().toAbsolutePath()
        + ", publishing to topic "
        + publish.topic()
        + " at "
        + publish.kafka().getOrDefault("bootstrap.servers", "(kafka.bootstrap.servers unset)")
        + (publish.enabled() ? "" : " (publish.enabled=false: sketched, not sent)")
        + ", summary every "
        + cfg.agent().summaryInterval().toSeconds()
        + " s";
  }

  /**
   * zstd and snappy run JNI code bound to their original class names, which the jar cannot
   * relocate, so it leaves them out; refusing them here beats a producer that fails on each send.
   */
  static void checkCompression(String codec) {
    String probe =
        switch (codec.trim().toLowerCase(java.util.Locale.ROOT)) {
          case "zstd" -> "com.github.luben.zstd.Zstd";
          case "snappy" -> "org.xerial.snappy.Snappy";
          default -> null;
        };
    if (probe == null) {
      return;
    }
    try {
      Class.forName(probe, false, WatchCommand.class.getClassLoader());
    } catch (ClassNotFoundException e) {
      throw new IllegalArgumentException(
          "kafka.compression.type="
              + codec
              + " is not available in this jar (use lz4, gzip or none)");
    }
  }
}
