package io.phasewatch.agent.publish;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.phasewatch.agent.config.AgentConfig;
import io.phasewatch.agent.config.AgentConfigLoader;
import io.phasewatch.agent.core.PhasewatchAgent;
import io.phasewatch.agent.core.ReferenceSketches;
import io.phasewatch.core.sketch.CovarianceSketch;
import io.phasewatch.core.sketch.ExactSnapshot;
import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.core.sketch.FrequentDirections;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.testkit.KafkaBroker;
import io.phasewatch.testkit.SnapshotReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The agent and its publisher against a real single-node KRaft broker, stopped and restarted. */
class KafkaSnapshotPublisherIT {
  @RegisterExtension static final KafkaBroker KAFKA = KafkaBroker.perClass();

  private static AgentConfig config(String topic, String extraYaml) {
    return config(topic, extraYaml, Map.of());
  }

  private static AgentConfig config(
      String topic, String extraYaml, Map<String, String> extraFlags) {
    Map<String, String> flags =
        new HashMap<>(
            Map.of(
                "kafka.bootstrap.servers", KAFKA.bootstrapServers(),
                "kafka.delivery.timeout.ms", "3000",
                "kafka.request.timeout.ms", "1000",
                "kafka.linger.ms", "0",
                "kafka.reconnect.backoff.max.ms", "200"));
    flags.putAll(extraFlags);
    return AgentConfigLoader.load(
        "run: r1\n"
            + "publish: {topic: "
            + topic
            + ", max-record-bytes: 1KiB, retry-backoff: 100ms, retry-backoff-max: 500ms}\n"
            + extraYaml,
        Map.of(),
        flags);
  }

  private static PhasewatchAgent agent(AgentConfig config, MeterRegistry registry) {
    // The production defaults: ExactSummary / FrequentDirections and wire format v1.
    return PhasewatchAgent.start(config, registry);
  }

  /** Row {@code i} of step {@code s} of a layer of width d: known values, different per layer. */
  private static float[] row(long s, int i, int d) {
    float[] r = new float[d];
    for (int j = 0; j < d; j++) {
      r[j] = (float) Math.sin(0.3 * s + 1.7 * i + 0.11 * j * j) * (j + 1);
    }
    return r;
  }

  /** Reads the topic from the start until {@code n} distinct (layer, window) snapshots decoded. */
  private static List<SnapshotRecord> consume(String topic, int n, Duration timeout) {
    return KAFKA.read(topic, SnapshotReader.distinctWindows(n), timeout);
  }

  private static void await(BooleanSupplier condition, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met within " + timeout);
      }
      Thread.sleep(50);
    }
  }

  private static double count(MeterRegistry r, String name) {
    var c = r.find(name).counter();
    return c == null ? 0 : c.count();
  }

  private static double dropped(MeterRegistry r, String reason) {
    var c = r.find("phasewatch.agent.snapshots.dropped").tag("reason", reason).counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void aMissingTopicIsReportedOnlyWhenItStaysMissing() throws Exception {
    // A broker that does not create topics: the producer never gets metadata for this one. Kafka
    // words every such send as "Topic … not present in metadata after 1000 ms", also while a fresh
    // producer merely connects, so the publisher says so only after its grace, naming the cause.
    KafkaClusterTestKit strict =
        new KafkaClusterTestKit.Builder(
                new TestKitNodes.Builder()
                    .setCombined(true)
                    .setNumBrokerNodes(1)
                    .setNumControllerNodes(1)
                    .build())
            .setConfigProp("auto.create.topics.enable", "false")
            .build();
    Logger log = Logger.getLogger(KafkaSnapshotPublisher.class.getName());
    List<String> warnings = new CopyOnWriteArrayList<>();
    Handler capture =
        new Handler() {
          @Override
          public void publish(LogRecord r) {
            if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
              warnings.add(r.getMessage());
            }
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    log.addHandler(capture);
    try {
      strict.format();
      strict.startup();
      strict.waitForReadyBrokers();
      AgentConfig config =
          config("never-created", "", Map.of("kafka.bootstrap.servers", strict.bootstrapServers()));
      var publisher =
          KafkaSnapshotPublisher.start(
              config.publish(), SnapshotEncoder.v1(), new SimpleMeterRegistry());
      try {
        ExactSummary rows = ExactSummary.ofDimension(4);
        rows.update(new float[] {1, 2, 3, 4});
        publisher.publish(
            new SnapshotRecord(
                new io.phasewatch.core.wire.SnapshotMetadata(
                    "r1",
                    io.phasewatch.core.wire.Stage.PRETRAIN,
                    0,
                    1,
                    "l",
                    1,
                    1,
                    0,
                    System.currentTimeMillis(),
                    0),
                rows.snapshot()));
        Thread.sleep(8_000);
        assertThat(warnings).as("within the grace: failed sends, no claim yet").isEmpty();
        await(
            () -> !warnings.isEmpty(),
            KafkaSnapshotPublisher.METADATA_GRACE.plus(Duration.ofSeconds(20)));
        assertThat(warnings)
            .singleElement()
            .asString()
            .contains("no metadata for topic never-created for 1")
            .contains("it does not exist and the broker does not create it, or the broker is");
      } finally {
        publisher.close(Duration.ZERO);
      }
    } finally {
      log.removeHandler(capture);
      strict.close();
    }
  }

  @Test
  void everyWindowArrivesDecodedWithItsMetadataAndTheSketchOfItsRows() throws Exception {
    String topic = "windows";
    KAFKA.createTopic(topic);
    var registry = new SimpleMeterRegistry();
    // d = 4 gets the exact summary, d = 40 (wider than exact-max-dim, which would give it the
    // float32 co-moment) Frequent Directions with ℓ = 8 by override (15 rows a window); 1 KiB
    // records make
    // the 40 × 40 state travel in chunks.
    AgentConfig config =
        config(
            topic,
            "window: {steps: 5}\nsketch: {exact-max-dim: 16, fd-rows: 8,"
                + " overrides: [{layer: final_norm, kind: fd, fd-rows: 8}]}\n");
    PhasewatchAgent agent = agent(config, registry);
    Map<String, Integer> dims = Map.of("layers.0.out", 4, "final_norm", 40);
    Map<String, List<CovarianceSketch>> direct = new HashMap<>();
    Map<String, List<List<float[]>>> rowsOf = new HashMap<>();
    for (long step = 1; step <= 20; step++) {
      for (var layer : dims.entrySet()) {
        int d = layer.getValue();
        float[] rows = new float[3 * d];
        var sketches = direct.computeIfAbsent(layer.getKey(), k -> new ArrayList<>());
        var windows = rowsOf.computeIfAbsent(layer.getKey(), k -> new ArrayList<>());
        if ((step - 1) % 5 == 0) { // steps count from 1: windows hold steps 1–5, 6–10, …
          sketches.add(d <= 16 ? ExactSummary.ofDimension(d) : FrequentDirections.withRows(8, d));
          windows.add(new ArrayList<>());
        }
        for (int i = 0; i < 3; i++) {
          float[] r = row(step, i + layer.getKey().length(), d);
          System.arraycopy(r, 0, rows, i * d, d);
          windows.get(windows.size() - 1).add(r);
        }
        // The sketch of the same rows, computed directly with the same batches.
        sketches.get(sketches.size() - 1).update(rows, 3);
        agent.rows(layer.getKey(), step, rows, 3, d);
      }
      agent.stepEnded(step, 64 * step, 2.5);
    }
    agent.close(Duration.ofSeconds(20));

    // Without an outage nothing is re-sent: exactly one record per window.
    List<SnapshotRecord> got = consume(topic, 8, Duration.ofSeconds(30));
    assertThat(got).hasSize(8);
    for (String layer : dims.keySet()) {
      List<SnapshotRecord> mine =
          got.stream().filter(s -> s.metadata().layer().equals(layer)).toList();
      // A window's id is its last step.
      assertThat(mine).extracting(s -> s.metadata().windowId()).containsExactly(5L, 10L, 15L, 20L);
      assertThat(mine).extracting(s -> s.metadata().step()).containsExactly(5L, 10L, 15L, 20L);
      assertThat(mine)
          .extracting(s -> s.metadata().tokensSeen())
          .containsExactly(320L, 640L, 960L, 1280L);
      assertThat(mine).allSatisfy(s -> assertThat(s.metadata().runId()).isEqualTo("r1"));
      for (int w = 0; w < 4; w++) {
        assertThat(mine.get(w).snapshot()).isEqualTo(direct.get(layer).get(w).snapshot());
        assertThat(mine.get(w).snapshot().count()).isEqualTo(15);
      }
    }
    // And independently of the production sketch: the exact layer against the two-pass formula.
    for (int w = 0; w < 4; w++) {
      ExactSnapshot want = ReferenceSketches.summarize(rowsOf.get("layers.0.out").get(w), 4);
      ExactSnapshot have =
          (ExactSnapshot)
              got.stream()
                  .filter(s -> s.metadata().layer().equals("layers.0.out"))
                  .toList()
                  .get(w)
                  .snapshot();
      for (int i = 0; i < 16; i++) {
        assertThat(have.comoment()[i]).isCloseTo(want.comoment()[i], within(1e-9));
      }
    }
    assertThat(count(registry, "phasewatch.agent.windows.published")).isEqualTo(8);
    assertThat(count(registry, "phasewatch.agent.publish.failures")).isZero();
  }

  @Test
  void brokerOutageBuffersWithinTheBoundAndDeliversInOrderAfterwards() throws Exception {
    String topic = "outage";
    KAFKA.createTopic(topic);
    var registry = new SimpleMeterRegistry();
    AgentConfig config =
        config(topic, "window: {steps: 1}\n", Map.of("publish.buffer-snapshots", "5"));
    PhasewatchAgent agent = agent(config, registry);
    long step = 0;
    for (; step < 3; step++) {
      agent.rows("h", step, row(step, 0, 4), 1, 4);
      agent.stepEnded(step, step, 1.0);
    }
    await(() -> count(registry, "phasewatch.agent.windows.published") == 3, Duration.ofSeconds(30));

    KAFKA.stopServing();
    try {
      long slowest = 0;
      for (; step < 15; step++) {
        long t0 = System.nanoTime();
        agent.rows("h", step, row(step, 0, 4), 1, 4);
        agent.stepEnded(step, step, 1.0);
        slowest = Math.max(slowest, System.nanoTime() - t0);
        Thread.sleep(100); // let the sender pick up the first outage window and fail on it
      }
      await(() -> dropped(registry, "buffer_full") == 7, Duration.ofSeconds(10));
      // The producer gives up on a send after its delivery timeout (3 s here).
      await(() -> count(registry, "phasewatch.agent.publish.failures") > 0, Duration.ofSeconds(30));
      assertThat(slowest).isLessThan(TimeUnit.MILLISECONDS.toNanos(200)); // max.block.ms is 1000
    } finally {
      KAFKA.restore(); // also when an assertion failed: the other tests share this broker
    }
    await(() -> count(registry, "phasewatch.agent.windows.published") == 8, Duration.ofSeconds(60));
    agent.close(Duration.ofSeconds(20));

    // Distinct in order of arrival: a snapshot re-sent after a timed-out acknowledgement may
    // arrive twice, which the collector counts as a duplicate.
    List<Long> windows =
        consume(topic, 8, Duration.ofSeconds(30)).stream()
            .map(s -> s.metadata().windowId())
            .distinct()
            .toList();
    // Before the outage: 0–2. Of the twelve outage windows 3–14, the buffer of five kept the one
    // the sender was holding (3) and the four newest (11–14); the seven in between are counted.
    assertThat(windows).containsExactly(0L, 1L, 2L, 3L, 11L, 12L, 13L, 14L);
    assertThat(dropped(registry, "buffer_full")).isEqualTo(7);
  }

  @Test
  void spooledSnapshotsSurviveAnAgentRestartAndArriveInOrder(@TempDir Path dir) throws Exception {
    String topic = "spooled";
    KAFKA.createTopic(topic);
    Path spool = dir.resolve("spool");
    // First agent: its broker address leads nowhere, so everything stays in the spool.
    var dead = new SimpleMeterRegistry();
    AgentConfig unreachable =
        AgentConfigLoader.load(
            "run: r1\nwindow: {steps: 2}\npublish: {topic: "
                + topic
                + ", spool-dir: "
                + spool
                + "}\n",
            Map.of(),
            Map.of("kafka.bootstrap.servers", "127.0.0.1:1", "kafka.max.block.ms", "200"));
    PhasewatchAgent first = agent(unreachable, dead);
    for (long step = 1; step <= 6; step++) {
      first.rows("h", step, row(step, 0, 3), 1, 3);
      first.stepEnded(step, step, 1.0);
    }
    first.close(Duration.ofSeconds(1));
    try (var files = Files.list(spool)) {
      assertThat(files.filter(f -> f.toString().endsWith(".snap")).count()).isEqualTo(3);
    }
    assertThat(count(dead, "phasewatch.agent.windows.published")).isZero();

    // A restarted agent with the same spool and a reachable broker delivers them, then its own.
    var live = new SimpleMeterRegistry();
    AgentConfig reachable =
        AgentConfigLoader.load(
            "run: r1\nwindow: {steps: 2}\npublish: {topic: "
                + topic
                + ", spool-dir: "
                + spool
                + "}\n",
            Map.of(),
            Map.of("kafka.bootstrap.servers", KAFKA.bootstrapServers()));
    PhasewatchAgent second = agent(reachable, live);
    await(() -> count(live, "phasewatch.agent.windows.published") == 3, Duration.ofSeconds(30));
    second.rows("h", 7, row(7, 0, 3), 1, 3);
    second.stepEnded(8, 8, 1.0);
    second.close(Duration.ofSeconds(20));

    List<SnapshotRecord> got = consume(topic, 4, Duration.ofSeconds(30));
    assertThat(got).extracting(s -> s.metadata().step()).containsExactly(2L, 4L, 6L, 8L);
    ExactSummary direct = ExactSummary.ofDimension(3);
    direct.update(row(3, 0, 3), 1);
    direct.update(row(4, 0, 3), 1);
    assertThat(got.get(1).snapshot()).isEqualTo(direct.snapshot());
    try (var files = Files.list(spool)) {
      assertThat(files.count()).isZero();
    }
  }
}
