package io.phasewatch.collector.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.phasewatch.collector.config.ConfigLoader;
import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.core.wire.SnapshotMetadata;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.Stage;
import io.phasewatch.testkit.KafkaBroker;
import io.phasewatch.testkit.SnapshotSender;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The collector behind a secured Kafka: a real KRaft broker of the test kit whose client listener
 * speaks TLS (a certificate made by {@code keytool} in the test, a PKCS12 truststore) or
 * SASL/PLAIN, and a snapshot that reaches the collector's metrics only if its {@code kafka.*}
 * client properties reached its consumer. TLS goes through the real {@code serve} jar with {@code
 * --set} flags, SASL through the in-process service with {@code PHASEWATCH_KAFKA_*} variables: the
 * two routes an operator has.
 */
class SecuredKafkaIT {

  private static final Path JAR = Path.of("target", "phasewatch-collector.jar");
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final Pattern SERVING = Pattern.compile("serving on http://[^:]+:(\\d+)");

  @TempDir Path tmp;

  @Test
  void serveConsumesASnapshotThroughATlsListener() throws Exception {
    try (KafkaBroker kafka = KafkaBroker.startWithTls(tmp)) {
      String topic = kafka.createTopic("tls-" + System.nanoTime());
      try (var producer = kafka.producer()) {
        SnapshotSender.send(producer, topic, snapshot("tls-run"));
      }
      List<String> command = new ArrayList<>();
      command.addAll(
          List.of(
              Path.of(System.getProperty("java.home"), "bin", "java").toString(),
              "-jar",
              JAR.toString(),
              "serve",
              "--bootstrap-servers",
              kafka.bootstrapServers(),
              "--http-port",
              "0",
              "--set",
              "kafka.topic=" + topic,
              "--set",
              "kafka.dlq-topic=" + topic + ".dlq",
              "--set",
              "kafka.group-id=" + topic));
      kafka
          .clientProperties()
          .forEach((k, v) -> command.addAll(List.of("--set", "kafka." + k + "=" + v)));
      Path log = tmp.resolve("serve.log");
      ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
      pb.environment().keySet().removeIf(k -> k.startsWith("PHASEWATCH_"));
      Process serve = pb.redirectOutput(log.toFile()).start();
      try {
        awaitSeries(awaitPort(serve, log), "tls-run");
      } finally {
        serve.destroy();
        if (!serve.waitFor(30, TimeUnit.SECONDS)) {
          serve.destroyForcibly();
        }
      }
    }
  }

  @Test
  void collectorConsumesASnapshotThroughSaslPlain() throws Exception {
    try (KafkaBroker kafka = KafkaBroker.startWithSaslPlain()) {
      String topic = kafka.createTopic("sasl-" + System.nanoTime());
      try (var producer = kafka.producer()) {
        SnapshotSender.send(producer, topic, snapshot("sasl-run"));
      }
      Map<String, String> env = new HashMap<>();
      kafka.clientProperties().forEach((k, v) -> env.put(ConfigLoader.envName("kafka." + k), v));
      Map<String, String> flags =
          Map.of(
              "kafka.bootstrap-servers",
              kafka.bootstrapServers(),
              "kafka.topic",
              topic,
              "kafka.dlq-topic",
              topic + ".dlq",
              "kafka.group-id",
              topic,
              "http.port",
              "0");
      var config = ConfigLoader.load(null, env, flags);
      assertThat(config.kafka().client()).containsAllEntriesOf(kafka.clientProperties());
      Vertx vertx = Vertx.vertx();
      try {
        CollectorService service =
            CollectorService.start(vertx, config).await(60, TimeUnit.SECONDS);
        try {
          awaitSeries(service.httpPort(), "sasl-run");
        } finally {
          service.close().await(30, TimeUnit.SECONDS);
        }
      } finally {
        vertx.close().await(30, TimeUnit.SECONDS);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------

  /** One exact snapshot of 200 Gaussian rows, d = 16. */
  private static SnapshotRecord snapshot(String run) {
    int d = 16;
    ExactSummary sketch = ExactSummary.ofDimension(d);
    Random rnd = new Random(7);
    float[] row = new float[d];
    for (int r = 0; r < 200; r++) {
      for (int i = 0; i < d; i++) {
        row[i] = (float) (rnd.nextGaussian() / (i + 1));
      }
      sketch.update(row);
    }
    return new SnapshotRecord(
        new SnapshotMetadata(
            run, Stage.PRETRAIN, 0, 1, "l0", 100, 100, 100_000, System.currentTimeMillis(), 0),
        sketch.snapshot());
  }

  private static void awaitSeries(int port, String run) {
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(250))
        .until(
            () ->
                scrape(port)
                    .lines()
                    .anyMatch(
                        l ->
                            l.startsWith("phasewatch_effective_rank{")
                                && l.contains("run=\"" + run + "\"")));
  }

  private static String scrape(int port) throws IOException, InterruptedException {
    return HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
            HttpResponse.BodyHandlers.ofString())
        .body();
  }

  /** The port from serve's start-up line; fails at once with its output if it exits instead. */
  private static int awaitPort(Process serve, Path log) {
    int[] port = {-1};
    await()
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(200))
        .until(
            () -> {
              if (!serve.isAlive()) {
                throw new AssertionError("serve exited: " + Files.readString(log));
              }
              Matcher m = SERVING.matcher(Files.readString(log));
              if (m.find()) {
                port[0] = Integer.parseInt(m.group(1));
              }
              return port[0] > 0;
            });
    return port[0];
  }
}
