package io.phasewatch.collector.service;

import static io.phasewatch.testkit.SnapshotSender.send;
import static io.phasewatch.testkit.SnapshotSender.sendRaw;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.phasewatch.collector.config.CollectorConfig;
import io.phasewatch.collector.config.ConfigLoader;
import io.phasewatch.collector.ingest.KafkaIngest;
import io.phasewatch.collector.spectrum.FitRange;
import io.phasewatch.collector.spectrum.SpectralMeasures;
import io.phasewatch.collector.spectrum.Spectrum;
import io.phasewatch.core.sketch.CovarianceSketch;
import io.phasewatch.core.sketch.CovarianceSnapshot;
import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.core.sketch.FrequentDirections;
import io.phasewatch.core.sketch.Snapshots;
import io.phasewatch.core.wire.SnapshotCodec;
import io.phasewatch.core.wire.SnapshotMetadata;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.Stage;
import io.phasewatch.core.wire.TrainingScalars;
import io.phasewatch.testkit.KafkaBroker;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The real collector (all verticles, a real Vert.x with a 1 s event-loop budget whose blocked
 * thread warnings fail the test) against a real single-node KRaft broker; every value is checked
 * against a direct computation on the snapshots the test built, through a real HTTP scrape.
 */
@ExtendWith(VertxExtension.class)
class CollectorIT {

  private static final int D = 128;
  @RegisterExtension static final KafkaBroker KAFKA = KafkaBroker.perClass();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private final List<String> blocked = new CopyOnWriteArrayList<>();
  private final Handler blockedCatcher =
      new Handler() {
        @Override
        public void publish(LogRecord r) {
          if (r.getMessage() != null && r.getMessage().contains("has been blocked")) {
            blocked.add(r.getMessage());
          }
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
      };
  private final List<Vertx> vertxes = new ArrayList<>();
  private final List<CollectorService> services = new ArrayList<>();
  private int topicCounter;

  @BeforeEach
  void catchBlockedThreads() {
    Logger.getLogger("io.vertx.core.impl.BlockedThreadChecker").addHandler(blockedCatcher);
  }

  @AfterEach
  void stopCollectorsAndCheckTheEventLoopNeverBlocked() throws Exception {
    for (CollectorService s : services) {
      s.close().await(30, TimeUnit.SECONDS);
    }
    for (Vertx v : vertxes) {
      v.close().await(30, TimeUnit.SECONDS);
    }
    Logger.getLogger("io.vertx.core.impl.BlockedThreadChecker").removeHandler(blockedCatcher);
    assertThat(blocked).as("blocked-thread warnings").isEmpty();
  }

  // ---------------------------------------------------------------------------------------------

  @Test
  void scrapeShowsTheMeasuresOfADirectComputation() throws Exception {
    String topic = newTopic(2);
    CovarianceSnapshot exact = exactOf(rows(400, 1.0, 11));
    CovarianceSnapshot fd = fdOf(rows(400, 1.5, 12), 48);
    try (KafkaProducer<byte[], byte[]> p = KAFKA.producer()) {
      send(p, topic, record("direct", "exact_layer", 0, 1, 7, 700, exact));
      send(p, topic, record("direct", "fd_layer", 0, 1, 7, 700, fd));
    }
    CollectorService c = start(topic, Map.of());
    String scrape = awaitSeries(c, "direct", "fd_layer");
    awaitSeries(c, "direct", "exact_layer");
    scrape = scrape(c);
    assertMeasures(scrape, "direct", "exact_layer", measures(exact));
    assertMeasures(scrape, "direct", "fd_layer", measures(fd));
    assertThat(value(scrape, "phasewatch_last_step", "run", "direct", "layer", "fd_layer"))
        .isEqualTo(700);
    assertThat(value(scrape, "phasewatch_window_ranks", "run", "direct", "layer", "fd_layer"))
        .isEqualTo(1);
    assertThat(value(scrape, "phasewatch_window_partial", "run", "direct", "layer", "fd_layer"))
        .isZero();
    assertThat(
            value(
                scrape,
                "phasewatch_effective_rank_error_bound",
                "run",
                "direct",
                "layer",
                "exact_layer"))
        .isZero();
    assertThat(value(scrape, "phasewatch_snapshots_ingested_total")).isEqualTo(2);
    assertThat(promtoolCheck(scrape)).isEmpty();

    JsonObject series = new JsonObject(get(c, "/api/runs/direct/layers/exact_layer/series").body());
    assertThat(series.getJsonArray("points")).hasSize(1);
    assertThat(series.getJsonArray("points").getJsonObject(0).getDouble("effective_rank"))
        .isEqualTo(measures(exact).effectiveRank());
    assertThat(get(c, "/api/runs/direct/layers/nope/series").statusCode()).isEqualTo(404);
    assertThat(new JsonObject(get(c, "/api/runs").body()).getJsonArray("runs")).hasSize(1);
    assertThat(get(c, "/health/ready").statusCode()).isEqualTo(200);
    assertThat(get(c, "/health/live").statusCode()).isEqualTo(200);
    assertThat(get(c, "/api/events").statusCode()).isEqualTo(200);
    // The JDK client asks for an h2c upgrade by default; the collector stays on HTTP/1.1.
    assertThat(get(c, "/api/runs").version()).isEqualTo(HttpClient.Version.HTTP_1_1);
  }

  @Test
  void twoRanksMergeIntoTheMeasuresOfTheMergedSnapshot() throws Exception {
    String topic = newTopic(1);
    CovarianceSnapshot a = exactOf(rows(300, 1.0, 21));
    CovarianceSnapshot b = exactOf(rows(200, 1.2, 22));
    try (KafkaProducer<byte[], byte[]> p = KAFKA.producer()) {
      send(p, topic, record("ranks", "l0", 1, 2, 3, 300, b));
      send(p, topic, record("ranks", "l0", 0, 2, 3, 300, a));
    }
    CollectorService c = start(topic, Map.of());
    String scrape = awaitSeries(c, "ranks", "l0");
    SpectralMeasures expected = measures(Snapshots.merge(a, b));
    assertMeasures(scrape, "ranks", "l0", expected);
    assertThat(value(scrape, "phasewatch_window_samples", "run", "ranks")).isEqualTo(500);
    assertThat(value(scrape, "phasewatch_window_ranks", "run", "ranks")).isEqualTo(2);
    assertThat(value(scrape, "phasewatch_merges_total", "complete", "true")).isEqualTo(1);
    assertThat(value(scrape, "phasewatch_merges_total", "complete", "false")).isZero();
  }

  @Test
  void trainingScalarsOfTwoRanksMergeAsWeightedMeansIntoMetricsAndTheApi() throws Exception {
    String topic = newTopic(1);
    TrainingScalars rank0 = scalars(30, 2.0, 0.5);
    TrainingScalars rank1 = scalars(10, 4.0, 0.7);
    try (KafkaProducer<byte[], byte[]> p = KAFKA.producer()) {
      for (String layer : List.of("l0", "l1")) {
        CovarianceSnapshot s0 = exactOf(rows(100, 1.0, 51, 16), 16);
        CovarianceSnapshot s1 = exactOf(rows(100, 1.2, 52, 16), 16);
        SnapshotRecord r0 = record("scalars", layer, 0, 2, 50, 50, s0);
        SnapshotRecord r1 = record("scalars", layer, 1, 2, 50, 50, s1);
        send(p, topic, new SnapshotRecord(r0.metadata(), r0.snapshot(), rank0));
        send(p, topic, new SnapshotRecord(r1.metadata(), r1.snapshot(), rank1));
      }
    }
    CollectorService c = start(topic, Map.of());
    awaitSeries(c, "scalars", "l1");
    awaitSeries(c, "scalars", "l0");
    JsonObject training = new JsonObject(get(c, "/api/runs/scalars/training").body());
    assertThat(training.getJsonArray("points")).hasSize(1);
    JsonObject point = training.getJsonArray("points").getJsonObject(0);
    assertThat(point.getInteger("ranks")).isEqualTo(2);
    assertThat(point.getLong("step")).isEqualTo(50);
    // Loss: (30 · 2.0 + 10 · 4.0) / 40 = 2.5 over 40 steps; accuracy: the mean of the two ranks.
    assertThat(point.getJsonObject("scalars").getDouble("loss")).isEqualTo(2.5);
    assertThat(point.getJsonObject("weights").getLong("loss")).isEqualTo(40);
    assertThat(point.getJsonObject("scalars").getDouble("heldout.accuracy"))
        .isCloseTo(0.6, org.assertj.core.data.Offset.offset(1e-15));
    assertThat(point.getJsonObject("weights").getLong("heldout.accuracy")).isEqualTo(2);
    assertThat(point.getJsonObject("scalars").getDouble("learning_rate")).isEqualTo(1e-3);
    JsonObject layerPoint =
        new JsonObject(get(c, "/api/runs/scalars/layers/l0/series").body())
            .getJsonArray("points")
            .getJsonObject(0);
    assertThat(layerPoint.getJsonObject("scalars").getDouble("loss")).isEqualTo(2.5);
    assertThat(
            new JsonObject(get(c, "/api/runs").body())
                .getJsonArray("runs")
                .getJsonObject(0)
                .getJsonObject("training")
                .getLong("window"))
        .isEqualTo(50);

    String scrape = scrape(c);
    assertThat(value(scrape, "phasewatch_training_loss", "run", "scalars")).isEqualTo(2.5);
    assertThat(value(scrape, "phasewatch_training_learning_rate", "run", "scalars"))
        .isEqualTo(1e-3);
    assertThat(
            value(
                scrape, "phasewatch_training_scalar", "run", "scalars", "name", "heldout.accuracy"))
        .isCloseTo(0.6, org.assertj.core.data.Offset.offset(1e-15));
    assertThat(value(scrape, "phasewatch_training_scalars_step", "run", "scalars")).isEqualTo(50);
    assertThat(promtoolCheck(scrape)).isEmpty();
  }

  /**
   * The phase's onset carries the scalars of its own window, not the latest: run "onset" stays in
   * its initial steady (onset: its first window, step 10) while the loss falls over three windows;
   * run "onset-sft" moves to SFT at step 30, which starts a new segment whose onset is step 30.
   */
  @Test
  void phaseOnsetGaugesShowTheScalarsOfTheWindowAtTheOnset() throws Exception {
    String topic = newTopic(1);
    try (KafkaProducer<byte[], byte[]> p = KAFKA.producer()) {
      for (int i = 0; i < 3; i++) {
        long step = 10L * (i + 1);
        CovarianceSnapshot s = exactOf(rows(100, 1.0, 61 + i, 16), 16);
        SnapshotRecord pre = record("onset", "l0", 0, 1, step, step, s);
        send(p, topic, new SnapshotRecord(pre.metadata(), s, scalars(10, 3.0 - i, 0.1 * (i + 1))));
        SnapshotMetadata m = record("onset-sft", "l0", 0, 1, step, step, s).metadata();
        Stage stage = i < 2 ? Stage.PRETRAIN : Stage.SFT;
        send(
            p,
            topic,
            new SnapshotRecord(
                new SnapshotMetadata(
                    m.runId(),
                    stage,
                    0,
                    1,
                    m.layer(),
                    m.step(),
                    m.windowId(),
                    m.tokensSeen(),
                    m.captureTimeMillis(),
                    0),
                s,
                scalars(10, 5.0 - i, 0.2 * (i + 1))));
      }
      // A fourth SFT window of onset-sft: the onset stays at step 30 while the loss moves on.
      CovarianceSnapshot s = exactOf(rows(100, 1.0, 64, 16), 16);
      SnapshotMetadata m = record("onset-sft", "l0", 0, 1, 40, 40, s).metadata();
      send(
          p,
          topic,
          new SnapshotRecord(
              new SnapshotMetadata(
                  m.runId(), Stage.SFT, 0, 1, "l0", 40, 40, 40_000, m.captureTimeMillis(), 0),
              s,
              scalars(10, 1.5, 0.9)));
    }
    CollectorService c = start(topic, Map.of());
    await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () -> {
              String scrape = scrape(c);
              // The layers' own series appear once their replay from the topic's start is done.
              return scrape.contains(
                      "phasewatch_last_step{layer=\"l0\",run=\"onset\",stage=\"pretrain\"} 30.0")
                  && scrape.contains(
                      "phasewatch_last_step{layer=\"l0\",run=\"onset-sft\",stage=\"sft\"} 40.0");
            });
    String scrape = scrape(c);
    assertThat(value(scrape, "phasewatch_training_loss", "run", "onset")).isEqualTo(1.0);
    assertThat(value(scrape, "phasewatch_phase_since_step", "run", "onset")).isEqualTo(10);
    assertThat(value(scrape, "phasewatch_phase_onset_training_step", "run", "onset")).isEqualTo(10);
    assertThat(value(scrape, "phasewatch_phase_onset_training_loss", "run", "onset"))
        .isEqualTo(3.0);
    assertThat(value(scrape, "phasewatch_phase_onset_training_learning_rate", "run", "onset"))
        .isEqualTo(1e-3);
    assertThat(
            value(
                scrape,
                "phasewatch_phase_onset_training_scalar",
                "run",
                "onset",
                "name",
                "heldout.accuracy"))
        .isEqualTo(0.1);

    // The stage change moved the onset: only the SFT series remain, at step 30's scalars.
    assertThat(value(scrape, "phasewatch_training_loss", "run", "onset-sft")).isEqualTo(1.5);
    assertThat(value(scrape, "phasewatch_phase_since_step", "run", "onset-sft")).isEqualTo(30);
    assertThat(
            value(
                scrape, "phasewatch_phase_onset_training_loss", "run", "onset-sft", "stage", "sft"))
        .isEqualTo(3.0);
    assertThat(
            scrape
                .lines()
                .filter(l -> l.startsWith("phasewatch_phase_onset_training_"))
                .filter(l -> l.contains("run=\"onset-sft\"") && l.contains("stage=\"pretrain\"")))
        .isEmpty();

    // The API's point carries the same window as a training point.
    JsonArray points =
        new JsonObject(get(c, "/api/runs/onset/layers/l0/series").body()).getJsonArray("points");
    JsonObject latest = points.getJsonObject(points.size() - 1);
    assertThat(latest.getLong("step")).isEqualTo(30);
    JsonObject onset = latest.getJsonObject("phase_onset_training");
    assertThat(onset.getLong("step")).isEqualTo(10);
    assertThat(onset.getString("stage")).isEqualTo("pretrain");
    assertThat(onset.getJsonObject("scalars").getDouble("loss")).isEqualTo(3.0);
    assertThat(promtoolCheck(scrape)).isEmpty();
  }

  /** A rank's window: its mean loss over {@code steps} steps, learning rate 1e-3, an accuracy. */
  private static TrainingScalars scalars(long steps, double loss, double accuracy) {
    return new TrainingScalars(
        Map.of(
            "loss", new TrainingScalars.Scalar(steps, loss),
            "learning_rate", new TrainingScalars.Scalar(1, 1e-3),
            "heldout.accuracy", new TrainingScalars.Scalar(1, accuracy)));
  }

  @Test
  void partialMergeAtTheTimeoutIsMarkedAsPartial() throws Exception {
    String topic = newTopic(1);
    CovarianceSnapshot a = exactOf(rows(300, 1.0, 31));
    try (KafkaProducer<byte[], byte[]> p = KAFKA.producer()) {
      send(p, topic, record("partial", "l0", 0, 2, 1, 100, a));
    }
    CollectorService c = start(topic, Map.of("merge.timeout", "1500ms"));
    String scrape = awaitSeries(c, "partial", "l0");
    assertMeasures(scrape, "partial", "l0", measures(a));
    assertThat(value(scrape, "phasewatch_window_partial", "run", "partial")).isEqualTo(1);
    assertThat(value(scrape, "phasewatch_window_ranks", "run", "partial")).isEqualTo(1);
    assertThat(value(scrape, "phasewatch_merges_total", "complete", "false")).isEqualTo(1);
  }

  @Test
  void badRecordsAreCountedByReasonCopiedToTheDeadLetterTopicAndConsumptionGoesOn()
      throws Exception {
    String topic = newTopic(1);
    String dlq = topic + ".dlq";
    CovarianceSnapshot small = exactOf(rows(100, 1.0, 41, 16), 16);
    CovarianceSnapshot big = exactOf(rows(100, 1.0, 42, D));
    SnapshotRecord good = record("bad", "l0", 0, 1, 0, 10, small);
    byte[] goodBytes = SnapshotCodec.encode(good, 900_000).get(0);
    byte[] truncated = Arrays.copyOf(goodBytes, goodBytes.length / 2);
    byte[] badCrc = goodBytes.clone();
    badCrc[goodBytes.length / 2] ^= 0x5A;
    byte[] oversized = SnapshotCodec.encode(record("bad", "l1", 0, 1, 0, 10, big), 900_000).get(0);
    SnapshotRecord after = record("bad", "l0", 0, 1, 1, 20, small);
    byte[] otherLayer =
        SnapshotCodec.encode(record("bad", "l2", 0, 1, 0, 10, small), 900_000).get(0);
    try (KafkaProducer<byte[], byte[]> p = KAFKA.producer()) {
      sendRaw(p, topic, "bad/l0", "not a snapshot at all".getBytes(StandardCharsets.UTF_8));
      sendRaw(p, topic, "bad/l0", truncated);
      sendRaw(p, topic, "bad/l0", badCrc);
      sendRaw(p, topic, "bad/l1", oversized);
      // A valid snapshot of layer l2 under layer l0's key.
      sendRaw(p, topic, "bad/l0", otherLayer);
      send(p, topic, good);
      send(p, topic, good);
      send(p, topic, after);
    }
    // 64 KiB: the d = 16 records fit, the d = 128 exact record (≈ 130 KiB) does not.
    CollectorService c =
        start(topic, Map.of("kafka.dlq-topic", dlq, "limits.max-record-bytes", "65536"));
    await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () -> {
              String s = scrape(c);
              return s.contains("phasewatch_last_step{")
                  && value(s, "phasewatch_last_step", "run", "bad", "layer", "l0") == 20;
            });
    String scrape = scrape(c);
    assertThat(value(scrape, "phasewatch_records_rejected_total", "reason", "bad_magic"))
        .isEqualTo(1);
    assertThat(value(scrape, "phasewatch_records_rejected_total", "reason", "truncated"))
        .isEqualTo(1);
    assertThat(value(scrape, "phasewatch_records_rejected_total", "reason", "bad_crc"))
        .isEqualTo(1);
    assertThat(value(scrape, "phasewatch_records_rejected_total", "reason", "too_large"))
        .isEqualTo(1);
    assertThat(value(scrape, "phasewatch_records_rejected_total", "reason", "key_mismatch"))
        .isEqualTo(1);
    assertThat(value(scrape, "phasewatch_snapshots_duplicate_total")).isEqualTo(1);
    assertThat(value(scrape, "phasewatch_snapshots_ingested_total")).isEqualTo(2);
    assertMeasures(scrape, "bad", "l0", measures(small));
    assertThat(scrape).doesNotContain("layer=\"l2\"");

    Map<String, String> reasonByOffset = new TreeMap<>();
    try (KafkaConsumer<byte[], byte[]> consumer = consumer()) {
      consumer.subscribe(List.of(dlq));
      long deadline = System.currentTimeMillis() + 30_000;
      while (reasonByOffset.size() < 5 && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
          reasonByOffset.put(
              header(r, KafkaIngest.H_SOURCE_OFFSET), header(r, KafkaIngest.H_REASON));
        }
      }
    }
    assertThat(reasonByOffset)
        .containsExactlyEntriesOf(
            new TreeMap<>(
                Map.of(
                    "0",
                    "bad_magic",
                    "1",
                    "truncated",
                    "2",
                    "bad_crc",
                    "3",
                    "too_large",
                    "4",
                    "key_mismatch")));
  }

  @Test
  void aRecordAboveTheCollectorsLimitStillReachesTheDeadLetterTopic() throws Exception {
    // Topics that take 8 MiB records, a collector that refuses records above 1 MiB: the refused
    // record (2 MiB) is one the broker held, so its dead-letter copy must go through as well.
    String topic = bigRecordTopic(8 << 20);
    String dlq = bigRecordTopic(8 << 20);
    int d = 768;
    SnapshotRecord big = record("huge", "l0", 0, 1, 0, 10, exactOf(rows(600, 1.0, 61, d), d));
    byte[] value = SnapshotCodec.encode(big, 8 << 20).get(0);
    assertThat(value.length).isGreaterThan(2 << 20);
    try (KafkaProducer<byte[], byte[]> p = KAFKA.producer(16 << 20)) {
      sendRaw(p, topic, "huge/l0", value);
    }
    CollectorService c =
        start(topic, Map.of("kafka.dlq-topic", dlq, "limits.max-record-bytes", "1048576"));
    await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () ->
                value(scrape(c), "phasewatch_records_rejected_total", "reason", "too_large") == 1);
    List<ConsumerRecord<byte[], byte[]>> copies = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer = consumer()) {
      consumer.subscribe(List.of(dlq));
      long deadline = System.currentTimeMillis() + 30_000;
      while (copies.isEmpty() && System.currentTimeMillis() < deadline) {
        consumer.poll(Duration.ofMillis(500)).forEach(copies::add);
      }
    }
    assertThat(copies).hasSize(1);
    assertThat(header(copies.get(0), KafkaIngest.H_REASON)).isEqualTo("too_large");
    assertThat(copies.get(0).value()).isEqualTo(value);
  }

  @Test
  void aSecondInstanceJoiningAndLeavingNeitherRewindsNorRejectsAndEachLayerHasOneOwner()
      throws Exception {
    String topic = newTopic(4);
    List<String> layers = List.of("l0", "l1", "l2", "l3", "l4", "l5", "l6", "l7");
    List<SnapshotRecord> stream = new ArrayList<>();
    for (int w = 0; w < 6; w++) {
      for (int rank = 0; rank < 2; rank++) {
        for (int i = 0; i < layers.size(); i++) {
          double decay = 1.6 - 0.1 * w + 0.05 * i;
          stream.add(
              record(
                  "group",
                  layers.get(i),
                  rank,
                  2,
                  w,
                  100L * (w + 1),
                  exactOf(rows(120, decay, 100 * w + 10 * rank + i, 32), 32)));
        }
      }
    }
    try (KafkaProducer<byte[], byte[]> p = KAFKA.producer()) {
      for (SnapshotRecord r : stream) {
        send(p, topic, r);
      }
    }
    CollectorService alone = start(topic, Map.of("kafka.group-id", "alone"));
    CollectorService a = start(topic, Map.of("kafka.group-id", "group"));
    for (CollectorService c : List.of(alone, a)) {
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> ownedLayers(c, "group", 600).size() == layers.size());
    }
    String reference = scrape(alone);

    CollectorService b = start(topic, Map.of("kafka.group-id", "group"));
    // The group splits the four partitions; each layer ends on exactly one of the two.
    await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () -> {
              List<String> onA = ownedLayers(a, "group", 600);
              List<String> onB = ownedLayers(b, "group", 600);
              return !onA.isEmpty()
                  && !onB.isEmpty()
                  && onA.size() + onB.size() == layers.size()
                  && onA.stream().noneMatch(onB::contains);
            });
    Map<String, String> union = new TreeMap<>(runSeries(scrape(a), "group"));
    union.putAll(runSeries(scrape(b), "group"));
    assertThat(union).isEqualTo(runSeries(reference, "group"));

    b.close().await(30, TimeUnit.SECONDS);
    services.remove(b);
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> ownedLayers(a, "group", 600).size() == layers.size());
    await().atMost(Duration.ofSeconds(30)).until(() -> a.windowsInFlight() == 0);
    String scrape = scrape(a);
    assertThat(runSeries(scrape, "group")).isEqualTo(runSeries(reference, "group"));
    assertThat(rejectedTotal(scrape)).isZero();
    assertThat(value(scrape, "phasewatch_snapshots_duplicate_total")).isZero();
    try (KafkaConsumer<byte[], byte[]> consumer = consumer()) {
      consumer.subscribe(List.of(topic + ".dlq"));
      assertThat(consumer.poll(Duration.ofSeconds(3)).isEmpty()).isTrue();
    }
  }

  @Test
  void restartMidStreamEndsWithTheSameValuesAsACollectorThatNeverStopped() throws Exception {
    String topic = newTopic(2);
    List<SnapshotRecord> stream = new ArrayList<>();
    for (int w = 0; w < 8; w++) {
      for (int rank = 0; rank < 2; rank++) {
        for (String layer : List.of("a", "b")) {
          // The spectrum flattens window by window: a trend for the phase detector to follow.
          double decay = 1.6 - 0.1 * w + (layer.equals("b") ? 0.2 : 0);
          stream.add(
              record(
                  "restart",
                  layer,
                  rank,
                  2,
                  w,
                  100L * (w + 1),
                  exactOf(rows(200, decay, 1000 * w + 10 * rank + layer.length()))));
        }
      }
    }
    CollectorService steady = start(topic, Map.of("kafka.group-id", "steady"));
    CollectorService first = start(topic, Map.of("kafka.group-id", "restarted"));
    try (KafkaProducer<byte[], byte[]> p = KAFKA.producer()) {
      for (SnapshotRecord r : stream.subList(0, stream.size() / 2)) {
        send(p, topic, r);
      }
      await().atMost(Duration.ofSeconds(60)).until(() -> lastStep(first, "restart", "b") == 400);
      first.close().await(30, TimeUnit.SECONDS);
      services.remove(first);
      for (SnapshotRecord r : stream.subList(stream.size() / 2, stream.size())) {
        send(p, topic, r);
      }
    }
    CollectorService second = start(topic, Map.of("kafka.group-id", "restarted"));
    for (CollectorService c : List.of(steady, second)) {
      await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () ->
                  lastStep(c, "restart", "a") == 800
                      && lastStep(c, "restart", "b") == 800
                      && c.windowsInFlight() == 0);
    }
    assertThat(runSeries(scrape(second), "restart"))
        .isEqualTo(runSeries(scrape(steady), "restart"));
    assertThat(runSeries(scrape(steady), "restart")).hasSizeGreaterThan(40);
    for (String layer : List.of("a", "b")) {
      String path = "/api/runs/restart/layers/" + layer + "/series";
      assertThat(new JsonObject(get(second, path).body()))
          .isEqualTo(new JsonObject(get(steady, path).body()));
    }
  }

  @Test
  void idleRunIsEvictedAndItsSeriesLeaveTheScrape() throws Exception {
    String topic = newTopic(1);
    CollectorService c =
        start(topic, Map.of("limits.run-idle-timeout", "6s", "merge.timeout", "1s"));
    try (KafkaProducer<byte[], byte[]> p = KAFKA.producer()) {
      send(p, topic, record("idle", "l0", 0, 1, 0, 10, exactOf(rows(100, 1.0, 51))));
    }
    awaitSeries(c, "idle", "l0");
    assertThat(value(scrape(c), "phasewatch_runs_live")).isEqualTo(1);
    await().atMost(Duration.ofSeconds(30)).until(() -> !scrape(c).contains("run=\"idle\""));
    String scrape = scrape(c);
    assertThat(value(scrape, "phasewatch_runs_evicted_total")).isEqualTo(1);
    assertThat(value(scrape, "phasewatch_runs_live")).isZero();
    assertThat(get(c, "/api/runs/idle/layers/l0/series").statusCode()).isEqualTo(404);
    assertThat(promtoolCheck(scrape)).isEmpty();
  }

  // ---------------------------------------------------------------------------------------------

  private CollectorService start(String topic, Map<String, String> extra) throws Exception {
    Map<String, String> o = new HashMap<>();
    o.put("kafka.bootstrap-servers", KAFKA.bootstrapServers());
    o.put("kafka.topic", topic);
    o.put("kafka.dlq-topic", topic + ".dlq");
    o.put("kafka.group-id", topic);
    o.put("http.port", "0");
    o.putAll(extra);
    CollectorConfig config = ConfigLoader.load(null, Map.of(), o);
    Vertx vertx =
        Vertx.vertx(
            new VertxOptions()
                .setMaxEventLoopExecuteTime(1000)
                .setMaxEventLoopExecuteTimeUnit(TimeUnit.MILLISECONDS)
                .setBlockedThreadCheckInterval(100)
                .setBlockedThreadCheckIntervalUnit(TimeUnit.MILLISECONDS));
    vertxes.add(vertx);
    CollectorService s = CollectorService.start(vertx, config).await(60, TimeUnit.SECONDS);
    services.add(s);
    return s;
  }

  private String newTopic(int partitions) throws Exception {
    return KAFKA.createTopic("it" + (++topicCounter) + "-" + System.nanoTime(), partitions);
  }

  /** A one-partition topic that takes records up to {@code maxMessageBytes}. */
  private String bigRecordTopic(int maxMessageBytes) throws Exception {
    return KAFKA.createTopic(
        "it" + (++topicCounter) + "-" + System.nanoTime(),
        1,
        Map.of("max.message.bytes", String.valueOf(maxMessageBytes)));
  }

  private static float[] rows(int n, double decay, long seed) {
    return rows(n, decay, seed, D);
  }

  /** Gaussian rows with variance i^(-decay) along coordinate i: a known power-law covariance. */
  private static float[] rows(int n, double decay, long seed, int d) {
    Random rnd = new Random(seed);
    float[] out = new float[n * d];
    for (int r = 0; r < n; r++) {
      for (int i = 0; i < d; i++) {
        out[r * d + i] = (float) (rnd.nextGaussian() * Math.pow(i + 1, -decay / 2) + 0.5);
      }
    }
    return out;
  }

  private static CovarianceSnapshot exactOf(float[] rows) {
    return fill(ExactSummary.ofDimension(D), rows);
  }

  private static CovarianceSnapshot exactOf(float[] rows, int d) {
    return fill(ExactSummary.ofDimension(d), rows);
  }

  private static CovarianceSnapshot fdOf(float[] rows, int ell) {
    return fill(FrequentDirections.withRows(ell, D), rows);
  }

  private static CovarianceSnapshot fill(CovarianceSketch sketch, float[] rows) {
    sketch.update(rows, rows.length / sketch.dimension());
    return sketch.snapshot();
  }

  private static SpectralMeasures measures(CovarianceSnapshot s) {
    return SpectralMeasures.of(Spectrum.of(s), FitRange.parse("12:100"));
  }

  private static SnapshotRecord record(
      String run, String layer, int rank, int world, long window, long step, CovarianceSnapshot s) {
    return new SnapshotRecord(
        new SnapshotMetadata(
            run,
            Stage.PRETRAIN,
            rank,
            world,
            layer,
            step,
            window,
            step * 1000,
            System.currentTimeMillis(),
            0),
        s);
  }

  private static KafkaConsumer<byte[], byte[]> consumer() {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.bootstrapServers());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "dlq-reader-" + System.nanoTime());
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    return new KafkaConsumer<>(p);
  }

  private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
    return new String(r.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
  }

  private static HttpResponse<String> get(CollectorService c, String path)
      throws IOException, InterruptedException {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + c.httpPort() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static String scrape(CollectorService c) throws IOException, InterruptedException {
    HttpResponse<String> r = get(c, "/metrics");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type"))
        .hasValueSatisfying(ct -> assertThat(ct).startsWith("text/plain; version=0.0.4"));
    return r.body();
  }

  private static String awaitSeries(CollectorService c, String run, String layer) {
    String needle = "layer=\"" + layer + "\"";
    String runNeedle = "run=\"" + run + "\"";
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(200))
        .until(
            () ->
                scrape(c)
                    .lines()
                    .anyMatch(
                        l ->
                            l.startsWith("phasewatch_effective_rank{")
                                && l.contains(needle)
                                && l.contains(runNeedle)));
    try {
      return scrape(c);
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }

  private static long lastStep(CollectorService c, String run, String layer) throws Exception {
    String s = scrape(c);
    if (!s.contains("phasewatch_last_step{") || !s.contains("layer=\"" + layer + "\"")) {
      return -1;
    }
    return (long) value(s, "phasewatch_last_step", "run", run, "layer", layer);
  }

  /** The value of the one sample of {@code name} whose labels include the given pairs. */
  static double value(String scrape, String name, String... labels) {
    List<Double> found = new ArrayList<>();
    for (String line : scrape.lines().toList()) {
      if (line.startsWith("#")) {
        continue;
      }
      int space = line.lastIndexOf(' ');
      String series = line.substring(0, space);
      String metric = series.contains("{") ? series.substring(0, series.indexOf('{')) : series;
      if (!metric.equals(name)) {
        continue;
      }
      boolean all = true;
      for (int i = 0; i < labels.length; i += 2) {
        all &= series.contains(labels[i] + "=\"" + labels[i + 1] + "\"");
      }
      if (all) {
        found.add(Double.parseDouble(line.substring(space + 1)));
      }
    }
    assertThat(found).as(name + " " + Arrays.toString(labels)).hasSize(1);
    return found.get(0);
  }

  /** The layers of a run whose last published step is {@code step}. */
  private static List<String> ownedLayers(CollectorService c, String run, long step)
      throws Exception {
    List<String> out = new ArrayList<>();
    for (String line : scrape(c).lines().toList()) {
      if (line.startsWith("phasewatch_last_step{")
          && line.contains("run=\"" + run + "\"")
          && Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)) == step) {
        int at = line.indexOf("layer=\"") + 7;
        out.add(line.substring(at, line.indexOf('"', at)));
      }
    }
    return out;
  }

  private static double rejectedTotal(String scrape) {
    return scrape
        .lines()
        .filter(l -> l.startsWith("phasewatch_records_rejected_total{"))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
        .sum();
  }

  /** Every per-layer sample of a run, series name and labels → value. */
  private static Map<String, String> runSeries(String scrape, String run) {
    Map<String, String> out = new TreeMap<>();
    for (String line : scrape.lines().toList()) {
      if (!line.startsWith("#") && line.contains("run=\"" + run + "\"")) {
        int space = line.lastIndexOf(' ');
        out.put(line.substring(0, space), line.substring(space + 1));
      }
    }
    return out;
  }

  private static void assertMeasures(String scrape, String run, String layer, SpectralMeasures m) {
    String[] l = {"run", run, "layer", layer};
    assertClose(value(scrape, "phasewatch_effective_rank", l), m.effectiveRank());
    assertClose(
        value(scrape, "phasewatch_effective_rank_error_bound", l), m.effectiveRankErrorBound());
    assertClose(value(scrape, "phasewatch_alpha", l), m.alpha());
    assertClose(value(scrape, "phasewatch_alpha_error_bound", l), m.alphaErrorBound());
    assertClose(value(scrape, "phasewatch_alpha_fit_r2", l), m.alphaR2());
    assertClose(value(scrape, "phasewatch_participation_ratio", l), m.participationRatio());
    assertClose(value(scrape, "phasewatch_top1_variance_share", l), m.top1Share());
    assertClose(value(scrape, "phasewatch_top10_variance_share", l), m.top10Share());
    assertClose(value(scrape, "phasewatch_total_variance", l), m.totalVariance());
    assertClose(value(scrape, "phasewatch_window_samples", l), m.count());
  }

  private static void assertClose(double scraped, double direct) {
    assertThat(Double.isFinite(direct)).as("direct value %s is finite", direct).isTrue();
    assertThat(scraped)
        .isCloseTo(
            direct, org.assertj.core.data.Offset.offset(1e-9 * Math.max(1, Math.abs(direct))));
  }

  /**
   * {@code promtool check metrics} on a scrape: its output (empty when the exposition is clean).
   */
  private static String promtoolCheck(String scrape) throws Exception {
    Process p =
        new ProcessBuilder("promtool", "check", "metrics").redirectErrorStream(true).start();
    p.getOutputStream().write(scrape.getBytes(StandardCharsets.UTF_8));
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("promtool: " + out).isZero();
    return out;
  }
}
