package io.phasewatch.collector.ops;

import static io.phasewatch.testkit.SnapshotSender.send;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.phasewatch.collector.config.CollectorConfig;
import io.phasewatch.collector.config.ConfigLoader;
import io.phasewatch.collector.service.CollectorService;
import io.phasewatch.core.sketch.CovarianceSnapshot;
import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.core.wire.SnapshotMetadata;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.Stage;
import io.phasewatch.testkit.KafkaBroker;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The whole alerting path for real: snapshots → a single-node KRaft broker → the collector ({@link
 * CollectorService}: merge, spectrum, phase detector, /metrics) → Debian's Prometheus scraping it
 * and evaluating the shipped rules → Debian's Alertmanager with the shipped routes, driven by
 * deploy/e2e/alert-pipeline.sh (deploy/local/ops-stack.sh on free ports), which must stop both
 * servers and its webhook sink afterwards.
 *
 * <p>The snapshots are SYNTHETIC spectra, not a training run. The same path driven by real training
 * (the modular-addition workload) is the demo module's ModularAlertPipelineIT; this test stays for
 * what a training run cannot pin: a spectrum of known shape, so the confirmed step is checked
 * against the detector's delay bound from a known knot, and a control layer that only rises, which
 * must never alert. Each snapshot is the exact covariance of real Gaussian rows (d = 128) whose
 * variance along coordinate i is i^(−β), so its RankMe is a known function of β (DESIGN.md: RankMe
 * on covariance eigenvalues; 10.3 at β = 1.6, 96.6 at β = 0.6, 28.3 at β = 1.2 for d = 128). β
 * moves linearly in ln(1 + step), the axis the phase detector works on (docs/phases.md):
 *
 * <ul>
 *   <li>layer {@code final}: β 1.6 → 0.6 over steps 50…2,500 (RankMe rising ≈ 0.6 per e-fold of
 *       steps: entropy-seeking), then 0.6 → 1.2 over steps 2,500…25,000 (RankMe falling ≈ 0.5 per
 *       e-fold: compression-seeking; after the pretraining warmup of 2,000 steps, so it is not
 *       warmup);
 *   <li>layer {@code embed}, the control: β 1.4 → 0.9 over the whole stream, rising RankMe only; it
 *       must never raise the alert.
 * </ul>
 *
 * The trends of {@code final} are about five times the detector's enterTrend of 0.10 (the
 * control's, ≈ 0.2, twice it), so with its defaults the layers must be labelled as above, and
 * compression-seeking must be confirmed no earlier than the knot at step 2,500 and no later than
 * 1.0 on the ln(1 + step) axis, that is step (1 + 2,500)·e^1.0 − 1 ≈ 6,800 (see
 * DELAY_BOUND_LOG_STEPS).
 */
class AlertPipelineIT {

  private static final String ALERT = "PhasewatchCompressionPhaseStarted";
  private static final String RUN = "synthetic-e2e";
  private static final int D = 128;
  private static final int ROWS = 1024;
  private static final long FIRST_STEP = 50;
  private static final long KNOT_STEP = 2_500;
  private static final long LAST_STEP = 25_000;

  /** Snapshots every e^0.06 ≈ 6 % of steps: about one per bin of the detector's log-step axis. */
  private static final double LOG_STEP_SPACING = 0.06;

  /**
   * The compression must be confirmed within 1.0 of ln(1+s) after the knot. docs/phases.md bounds a
   * sharp turn at 0.6; this peak is rounded (RankMe saturates near d at β = 0.6) and the detector
   * confirmed it at 0.91 (step 6,196) in the run that set this bound.
   */
  private static final double DELAY_BOUND_LOG_STEPS = 1.0;

  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static final String TOPIC = "phasewatch.sketches";

  @RegisterExtension static final KafkaBroker KAFKA = KafkaBroker.perClass();

  private Vertx vertx;
  private CollectorService collector;

  @BeforeAll
  static void createTopic() throws Exception {
    KAFKA.createTopic(TOPIC);
  }

  @BeforeEach
  void startCollector() throws Exception {
    CollectorConfig config =
        ConfigLoader.load(
            null,
            Map.of(),
            Map.of(
                "kafka.bootstrap-servers",
                KAFKA.bootstrapServers(),
                "kafka.topic",
                TOPIC,
                "kafka.dlq-topic",
                TOPIC + ".dlq",
                "http.host",
                "127.0.0.1",
                "http.port",
                "0"));
    vertx = Vertx.vertx();
    collector = CollectorService.start(vertx, config).await(60, TimeUnit.SECONDS);
  }

  @AfterEach
  void stopCollector() throws Exception {
    if (collector != null) {
      collector.close().await(30, TimeUnit.SECONDS);
    }
    if (vertx != null) {
      vertx.close().await(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void compressionOfASyntheticSpectrumStreamArrivesInAlertmanagerAndEverythingIsStoppedAfterwards()
      throws Exception {
    Tool.amtool();
    Tool.require("prometheus", "sudo apt-get install -y prometheus");
    Tool.require("prometheus-alertmanager", "sudo apt-get install -y prometheus-alertmanager");
    Tool.require("python3", "sudo apt-get install -y python3");
    String target = "127.0.0.1:" + collector.httpPort();

    // Prometheus and Alertmanager first, so Prometheus scrapes the run while its windows arrive.
    Path log = Files.createTempFile("alert-pipeline", ".log");
    Process pipeline =
        new ProcessBuilder(
                "bash", "deploy/e2e/alert-pipeline.sh", "--interval", "2s", target, ALERT, "170")
            .directory(Repo.root().toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    try {
      streamAndCheck(target, pipeline, log);
    } finally {
      // A failure before the alert arrived must not leave the servers running: SIGTERM makes the
      // script stop both.
      if (pipeline.isAlive()) {
        pipeline.destroy();
        pipeline.waitFor(30, TimeUnit.SECONDS);
      }
      Files.deleteIfExists(log);
    }
  }

  private void streamAndCheck(String target, Process pipeline, Path log) throws Exception {
    List<Long> steps = steps();
    try (KafkaProducer<byte[], byte[]> producer = KAFKA.producer()) {
      for (int w = 0; w < steps.size(); w++) {
        long step = steps.get(w);
        send(producer, TOPIC, record("final", w, step, snapshot(betaOfFinal(step), 1_000L + w)));
        send(producer, TOPIC, record("embed", w, step, snapshot(betaOfEmbed(step), 5_000L + w)));
        // A paced stream, as a run's windows arrive: Prometheus sees the phases go by.
        Thread.sleep(50);
      }
    }

    long lastStep = steps.get(steps.size() - 1);
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(500))
        .until(() -> lastStepOf("final") == lastStep && lastStepOf("embed") == lastStep);

    // The collector's own detector, on these spectra, with its defaults.
    List<JsonObject> finalEvents = events("final");
    // RankMe saturates near d = 128 at β = 0.6, so the peak at the knot is rounded: the detector
    // may read its top as a short steady between the two phases.
    List<String> labels =
        finalEvents.stream()
            .map(e -> e.getString("stage") + ":" + e.getString("from") + "→" + e.getString("to"))
            .toList();
    assertThat(labels)
        .isIn(
            List.of(
                "pretrain:steady→entropy_seeking", "pretrain:entropy_seeking→compression_seeking"),
            List.of(
                "pretrain:steady→entropy_seeking",
                "pretrain:entropy_seeking→steady",
                "pretrain:steady→compression_seeking"));
    JsonObject compression = finalEvents.get(finalEvents.size() - 1);
    long entropyStep = finalEvents.get(0).getLong("step");
    long compressionStep = compression.getLong("step");
    long compressionOnset = compression.getLong("onsetStep");
    assertThat(compressionOnset).isBetween(FIRST_STEP, compressionStep);
    assertThat(entropyStep).isBetween(FIRST_STEP, KNOT_STEP);
    long bound = Math.round((1 + KNOT_STEP) * Math.exp(DELAY_BOUND_LOG_STEPS) - 1);
    assertThat(compressionStep).isBetween(KNOT_STEP, bound);
    assertThat(events("embed"))
        .extracting(e -> e.getString("stage") + ":" + e.getString("from") + "→" + e.getString("to"))
        .containsExactly("pretrain:steady→entropy_seeking");

    assertThat(pipeline.waitFor(200, TimeUnit.SECONDS)).as("alert-pipeline.sh finished").isTrue();
    Tool.Result r =
        new Tool.Result(pipeline.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    // Kept in the build log: what each part of the pipeline reported.
    System.out.printf(
        "AlertPipelineIT: %d windows per layer; layer final entropy_seeking at step %d,"
            + " compression_seeking at step %d (bound %d..%d)%n%s%n",
        steps.size(), entropyStep, compressionStep, KNOT_STEP, bound, r.output());
    assertThat(r.exitCode()).as(r.output()).isZero();
    String arrived = r.output().substring(r.output().indexOf(ALERT + " arrived in Alertmanager"));
    assertThat(arrived)
        .as(r.output())
        .contains("alertname=\"" + ALERT + "\"")
        .contains("run=\"" + RUN + "\"")
        .contains("layer=\"final\"")
        .contains("stage=\"pretrain\"")
        .contains("severity=\"info\"")
        .contains("component=\"training\"")
        .contains("job=\"phasewatch-collector\"")
        .contains("instance=\"" + target + "\"")
        // The annotations: run, layer, the onset the collector's detector found and the step that
        // confirmed it.
        .contains(
            "summary=\"Run "
                + RUN
                + ", layer final: compression-seeking phase began at step "
                + compressionOnset
                + " (confirmed at step "
                + compressionStep
                + ")\"")
        .contains(
            "Layer final of run "
                + RUN
                + " entered the compression-seeking phase in pretraining at step "
                + compressionOnset)
        .doesNotContain("layer=\"embed\"");

    Matcher pids = Pattern.compile("pid (\\d+)").matcher(r.output());
    int started = 0;
    while (pids.find()) {
      started++;
      long pid = Long.parseLong(pids.group(1));
      assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
          .as("process %d stopped", pid)
          .isFalse();
    }
    // The webhook sink, Alertmanager and Prometheus of deploy/local/ops-stack.sh.
    assertThat(started).isEqualTo(3);
  }

  // ---------------------------------------------------------------------------------------------

  /** Steps FIRST_STEP…LAST_STEP, evenly spaced on the ln(1 + step) axis. */
  private static List<Long> steps() {
    List<Long> steps = new ArrayList<>();
    for (double x = Math.log1p(FIRST_STEP);
        x <= Math.log1p(LAST_STEP) + 1e-9;
        x += LOG_STEP_SPACING) {
      long step = Math.round(Math.expm1(x));
      if (steps.isEmpty() || step > steps.get(steps.size() - 1)) {
        steps.add(step);
      }
    }
    return steps;
  }

  /** Linear in ln(1 + step) between (fromStep, fromBeta) and (toStep, toBeta). */
  private static double interpolate(
      long step, long fromStep, double fromBeta, long toStep, double toBeta) {
    double u =
        (Math.log1p(step) - Math.log1p(fromStep)) / (Math.log1p(toStep) - Math.log1p(fromStep));
    return fromBeta + (toBeta - fromBeta) * u;
  }

  /** Λ-shaped RankMe: flattening spectrum up to the knot, steepening after it. */
  private static double betaOfFinal(long step) {
    return step <= KNOT_STEP
        ? interpolate(step, FIRST_STEP, 1.6, KNOT_STEP, 0.6)
        : interpolate(step, KNOT_STEP, 0.6, LAST_STEP, 1.2);
  }

  /** Rising RankMe throughout. */
  private static double betaOfEmbed(long step) {
    return interpolate(step, FIRST_STEP, 1.4, LAST_STEP, 0.9);
  }

  /**
   * The exact covariance summary of ROWS Gaussian rows with variance i^(−β) along coordinate i
   * (plus a constant mean, which the covariance removes).
   */
  private static CovarianceSnapshot snapshot(double beta, long seed) {
    Random rnd = new Random(seed);
    float[] rows = new float[ROWS * D];
    for (int r = 0; r < ROWS; r++) {
      for (int i = 0; i < D; i++) {
        rows[r * D + i] = (float) (rnd.nextGaussian() * Math.pow(i + 1, -beta / 2) + 0.5);
      }
    }
    ExactSummary sketch = ExactSummary.ofDimension(D);
    sketch.update(rows, ROWS);
    return sketch.snapshot();
  }

  private static SnapshotRecord record(
      String layer, long window, long step, CovarianceSnapshot snapshot) {
    return new SnapshotRecord(
        new SnapshotMetadata(
            RUN,
            Stage.PRETRAIN,
            0,
            1,
            layer,
            step,
            window,
            step * 4096,
            System.currentTimeMillis(),
            0),
        snapshot);
  }

  private String get(String path) throws Exception {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + collector.httpPort() + path))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(path).isEqualTo(200);
    return r.body();
  }

  private long lastStepOf(String layer) throws Exception {
    String path = "/api/runs/" + RUN + "/layers/" + layer + "/series";
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + collector.httpPort() + path))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      return -1;
    }
    JsonArray points = new JsonObject(r.body()).getJsonArray("points");
    return points.isEmpty() ? -1 : points.getJsonObject(points.size() - 1).getLong("step");
  }

  private List<JsonObject> events(String layer) throws Exception {
    List<JsonObject> out = new ArrayList<>();
    JsonArray all = new JsonObject(get("/api/events?run=" + RUN)).getJsonArray("events");
    for (int i = 0; i < all.size(); i++) {
      JsonObject e = all.getJsonObject(i);
      if (layer.equals(e.getString("layer"))) {
        out.add(e);
      }
    }
    return out;
  }
}
