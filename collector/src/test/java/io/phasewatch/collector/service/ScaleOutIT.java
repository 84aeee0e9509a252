package io.phasewatch.collector.service;

import static io.phasewatch.testkit.SnapshotSender.send;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.core.wire.SnapshotMetadata;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.Stage;
import io.phasewatch.testkit.KafkaBroker;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Several collectors in one consumer group, as users run them: separate JVMs ({@code java -jar
 * phasewatch-collector.jar serve}) against a real KRaft broker, a topic of 6 partitions and 24
 * (run, layer) series. Two instances, then three, then one of them killed with SIGKILL mid-stream:
 * at every settled point each series is published by exactly one instance, and the union of their
 * per-layer series equals what one uninterrupted instance (its own group) publishes, phase
 * transitions included; the rebalances cause no rejection, no duplicate and no dead-letter copy.
 */
class ScaleOutIT {

  @RegisterExtension static final KafkaBroker KAFKA = KafkaBroker.perClass();

  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final int D = 32;
  private static final int WINDOWS = 24;
  private static final List<String> RUNS = List.of("ra", "rb", "rc");
  private static final List<String> LAYERS =
      List.of("l0", "l1", "l2", "l3", "l4", "l5", "l6", "l7");

  private final List<Collector> collectors = new ArrayList<>();

  @AfterEach
  void stopCollectors() {
    collectors.forEach(Collector::kill);
  }

  @Test
  void aGroupOfCollectorsPublishesEachSeriesOnceAndSurvivesAKilledInstanceWithTheSameValues()
      throws Exception {
    String topic = KAFKA.createTopic("scale-out", 6);
    Collector alone = start("alone", topic, "alone");
    Collector a = start("a", topic, "group");
    Collector b = start("b", topic, "group");
    try (KafkaProducer<byte[], byte[]> p = KAFKA.producer()) {
      sendWindows(p, topic, 0, WINDOWS / 3);
      long step = step(WINDOWS / 3 - 1);
      awaitOwners(List.of(a, b), step);
      assertThat(union(List.of(a, b))).isEqualTo(awaitSeries(alone, step));

      Collector c = start("c", topic, "group");
      awaitOwners(List.of(a, b, c), step);
      assertThat(union(List.of(a, b, c))).isEqualTo(awaitSeries(alone, step));
      for (Collector x : List.of(a, b, c)) {
        assertThat(owned(x)).as(x.name + " owns some series").isNotEmpty();
      }

      // Mid-stream: part of the next windows are in, the instance holding most series dies
      // without a goodbye, the rest of the stream follows while the group reassigns its partitions.
      sendWindows(p, topic, WINDOWS / 3, WINDOWS / 2);
      Collector victim =
          List.of(a, b, c).stream().max(Comparator.comparingInt(x -> owned(x).size())).get();
      victim.kill();
      sendWindows(p, topic, WINDOWS / 2, WINDOWS);
      List<Collector> survivors = new ArrayList<>(List.of(a, b, c));
      survivors.remove(victim);

      long last = step(WINDOWS - 1);
      awaitOwners(survivors, last);
      Map<String, String> reference = awaitSeries(alone, last);
      assertThat(union(survivors)).isEqualTo(reference);
      assertThat(reference.keySet())
          .as("the stream drives the phase detector: transitions are compared too")
          .anyMatch(k -> k.startsWith("phasewatch_phase_transitions_total{"));
      for (Collector x : survivors) {
        String scrape = x.scrape();
        assertThat(sum(scrape, "phasewatch_records_rejected_total")).as(x.name).isZero();
        assertThat(sum(scrape, "phasewatch_snapshots_duplicate_total")).as(x.name).isZero();
      }
    }
    assertThat(deadLetters(topic + ".dlq")).isZero();
  }

  // ---------------------------------------------------------------------------------------------

  /** Steps spaced evenly on ln(step), as training logs them. */
  private static long step(int window) {
    return Math.round(
        Math.exp(Math.log(50) + window * (Math.log(20_000) - Math.log(50)) / WINDOWS));
  }

  /**
   * Every run and layer, ranks 0 and 1: exact summaries of Gaussian rows with variance i^(-β) along
   * coordinate i, β falling then rising (RankMe up, then down) so the detector has phases to find.
   */
  private static void sendWindows(KafkaProducer<byte[], byte[]> p, String topic, int from, int to)
      throws Exception {
    for (int w = from; w < to; w++) {
      double beta =
          w < WINDOWS / 2 ? 1.6 - 2.0 * w / WINDOWS : 0.6 + 1.2 * (w - WINDOWS / 2.0) / WINDOWS;
      for (int r = 0; r < RUNS.size(); r++) {
        for (int l = 0; l < LAYERS.size(); l++) {
          for (int rank = 0; rank < 2; rank++) {
            Random rnd = new Random(((long) w * 1000 + r * 100 + l * 10 + rank));
            float[] rows = new float[200 * D];
            for (int i = 0; i < rows.length; i++) {
              rows[i] = (float) (rnd.nextGaussian() * Math.pow(i % D + 1, -(beta + 0.02 * l) / 2));
            }
            ExactSummary s = ExactSummary.ofDimension(D);
            s.update(rows, 200);
            send(
                p,
                topic,
                new SnapshotRecord(
                    new SnapshotMetadata(
                        RUNS.get(r),
                        Stage.PRETRAIN,
                        rank,
                        2,
                        LAYERS.get(l),
                        step(w),
                        w,
                        step(w) * 1000,
                        System.currentTimeMillis(),
                        0),
                    s.snapshot()));
          }
        }
      }
    }
  }

  /** Waits until the instances together publish every series at {@code step}, each exactly once. */
  private static void awaitOwners(List<Collector> group, long step) {
    int all = RUNS.size() * LAYERS.size();
    await()
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(500))
        .until(
            () -> {
              List<String> each = new ArrayList<>();
              for (Collector c : group) {
                Map<String, Long> steps = c.lastSteps();
                if (steps.values().stream().anyMatch(s -> s != step)) {
                  return false;
                }
                each.addAll(steps.keySet());
              }
              return each.size() == all && new TreeSet<>(each).size() == all;
            });
  }

  private static Map<String, String> awaitSeries(Collector c, long step) {
    awaitOwners(List.of(c), step);
    return c.series();
  }

  private static Map<String, String> union(List<Collector> group) {
    Map<String, String> out = new TreeMap<>();
    for (Collector c : group) {
      Map<String, String> own = c.series();
      for (String k : own.keySet()) {
        assertThat(out).as("series %s published by two instances", k).doesNotContainKey(k);
      }
      out.putAll(own);
    }
    return out;
  }

  private static Set<String> owned(Collector c) {
    return c.lastSteps().keySet();
  }

  private static double sum(String scrape, String name) {
    return scrape
        .lines()
        .filter(l -> l.startsWith(name + "{") || l.startsWith(name + " "))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
        .sum();
  }

  private static int deadLetters(String dlq) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.bootstrapServers());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "dlq-reader");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
      consumer.subscribe(List.of(dlq));
      return consumer.poll(Duration.ofSeconds(3)).count();
    }
  }

  private Collector start(String name, String topic, String group) throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path log = Path.of("target", "scale-out", name + ".log");
    Files.createDirectories(log.getParent());
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd =
        new ArrayList<>(
            List.of(
                java,
                "-Xmx384m",
                "-XX:+UseSerialGC",
                "-jar",
                "target/phasewatch-collector.jar",
                "serve",
                "--bootstrap-servers=" + KAFKA.bootstrapServers(),
                "--http-port=" + port));
    for (String kv :
        List.of(
            "kafka.topic=" + topic,
            "kafka.dlq-topic=" + topic + ".dlq",
            "kafka.group-id=" + group,
            // A killed instance leaves the group after 6 s (the broker's minimum), not 45 s.
            "kafka.session.timeout.ms=6000",
            "kafka.heartbeat.interval.ms=1000",
            "analysis.worker-threads=1")) {
      cmd.add("--set");
      cmd.add(kv);
    }
    Process process =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    Collector c = new Collector(name, process, port, log);
    collectors.add(c);
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(250))
        .until(
            () -> {
              assertThat(process.isAlive()).as(name + " exited; see " + log).isTrue();
              return c.ready();
            });
    return c;
  }

  /** One {@code serve} process. */
  private record Collector(String name, Process process, int port, Path log) {

    void kill() {
      // SIGKILL: no leave-group, no close; the broker notices at the session timeout.
      process.destroyForcibly();
      try {
        process.waitFor(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    boolean ready() {
      try {
        return get("/health/ready").statusCode() == 200;
      } catch (IOException e) {
        return false;
      }
    }

    String scrape() {
      try {
        HttpResponse<String> r = get("/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        return r.body();
      } catch (IOException e) {
        throw new IllegalStateException(name + ": scrape failed; see " + log, e);
      }
    }

    /** run/layer → last published step. */
    Map<String, Long> lastSteps() {
      Map<String, Long> out = new TreeMap<>();
      for (String line : scrape().lines().toList()) {
        if (line.startsWith("phasewatch_last_step{")) {
          out.put(
              label(line, "run") + "/" + label(line, "layer"),
              (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
        }
      }
      return out;
    }

    /** Every sample carrying a run label: series name and labels → value. */
    Map<String, String> series() {
      Map<String, String> out = new TreeMap<>();
      for (String line : scrape().lines().toList()) {
        if (!line.startsWith("#") && line.contains("run=\"")) {
          int space = line.lastIndexOf(' ');
          out.put(line.substring(0, space), line.substring(space + 1));
        }
      }
      return out;
    }

    private HttpResponse<String> get(String path) throws IOException {
      try {
        return HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.ofString());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      }
    }

    private static String label(String line, String name) {
      int at = line.indexOf(name + "=\"") + name.length() + 2;
      return line.substring(at, line.indexOf('"', at));
    }
  }
}
