package io.phasewatch.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.phasewatch.agent.config.AgentConfigLoader;
import io.phasewatch.agent.core.PhasewatchAgent;
import io.phasewatch.collector.config.ConfigLoader;
import io.phasewatch.collector.service.CollectorService;
import io.phasewatch.demo.training.DemoTraining;
import io.phasewatch.demo.training.ModelConfig;
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
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The headline alert on real training: the modular-addition demo workload (a + b mod 59, DJL's
 * PyTorch engine, the agent in probe mode) → a single-node KRaft broker → the collector (merge,
 * spectrum, phase detector with its defaults, /metrics) → Debian's Prometheus with the shipped
 * rules → Debian's Alertmanager, driven by deploy/e2e/alert-pipeline.sh. {@code
 * PhasewatchCompressionPhaseStarted} must arrive with the run, the layer and, in its annotations,
 * the step at which the collector's detector confirmed that layer's compression phase.
 *
 * <p>CI-sized: 600 training steps (the compression phase begins at RankMe's peak near step 150 and
 * is confirmed by step ~400, docs/demo-science.md); the rule keeps its own {@code for: 1m}; only
 * Prometheus's scrape and evaluation interval is set to 2 s by the script (its documented test
 * override). The synthetic AlertPipelineIT (collector) stays: it pins the detector's delay bound on
 * a spectrum of known shape and checks that a control layer which only rises never alerts, which a
 * training run cannot pin.
 */
class ModularAlertPipelineIT {

  private static final String ALERT = "PhasewatchCompressionPhaseStarted";
  private static final String RUN = "modular-alert-it";
  private static final int STEPS = 600;
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @RegisterExtension static final KafkaBroker KAFKA = KafkaBroker.perClass();

  @BeforeAll
  static void createTopic() throws Exception {
    KAFKA.createTopic("phasewatch.sketches");
  }

  @Test
  void compressionOfARealModularAdditionRunArrivesInAlertmanager() throws Exception {
    for (String tool : List.of("prometheus", "prometheus-alertmanager", "amtool", "python3")) {
      assertThat(Path.of("/usr/bin", tool))
          .as("Debian's %s is needed; .ci/run installs it", tool)
          .exists();
    }
    Vertx vertx = Vertx.vertx();
    CollectorService collector = null;
    Process pipeline = null;
    Path log = Files.createTempFile("modular-alert", ".log");
    try {
      collector =
          CollectorService.start(
                  vertx,
                  ConfigLoader.load(
                      null,
                      Map.of(),
                      Map.of(
                          "kafka.bootstrap-servers",
                          KAFKA.bootstrapServers(),
                          "kafka.group-id",
                          RUN,
                          "http.host",
                          "127.0.0.1",
                          "http.port",
                          "0")))
              .await(120, TimeUnit.SECONDS);
      String target = "127.0.0.1:" + collector.httpPort();
      // Prometheus and Alertmanager first, so Prometheus scrapes the run while it trains.
      pipeline =
          new ProcessBuilder(
                  "bash", "deploy/e2e/alert-pipeline.sh", "--interval", "2s", target, ALERT, "400")
              .directory(repoRoot().toFile())
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();

      train();

      String base = "http://" + target;
      await()
          .atMost(Duration.ofSeconds(90))
          .pollInterval(Duration.ofMillis(500))
          .until(
              () ->
                  lastStep(base, "final_norm") == STEPS && lastStep(base, "layers.0.out") == STEPS);
      Map<String, Long> compressionStep = new java.util.TreeMap<>();
      Map<String, Long> compressionOnset = new java.util.TreeMap<>();
      for (String layer : List.of("layers.0.out", "final_norm")) {
        List<JsonObject> events = events(base, layer);
        List<String> changes =
            events.stream().map(e -> e.getString("from") + "→" + e.getString("to")).toList();
        // Memorisation, then compression; the detector may hold the rounded peak as a short steady
        // between them (docs/demo-science.md), never anything else.
        assertThat(
                List.of(
                    List.of("steady→entropy_seeking", "entropy_seeking→compression_seeking"),
                    List.of(
                        "steady→entropy_seeking",
                        "entropy_seeking→steady",
                        "steady→compression_seeking")))
            .as(layer + ": " + changes)
            .contains(changes);
        JsonObject compression = events.get(events.size() - 1);
        compressionStep.put(layer, compression.getLong("step"));
        compressionOnset.put(layer, compression.getLong("onset_step"));
      }

      assertThat(pipeline.waitFor(420, TimeUnit.SECONDS)).as("alert-pipeline.sh finished").isTrue();
      String output = Files.readString(log, StandardCharsets.UTF_8);
      System.out.printf(
          "ModularAlertPipelineIT: compression confirmed at %s%n%s%n", compressionStep, output);
      assertThat(pipeline.exitValue()).as(output).isZero();
      String arrived = output.substring(output.indexOf(ALERT + " arrived in Alertmanager"));
      Matcher layer = Pattern.compile("layer=\"([^\"]+)\"").matcher(arrived);
      assertThat(layer.find()).as(arrived).isTrue();
      long step = compressionStep.get(layer.group(1));
      long onset = compressionOnset.get(layer.group(1));
      assertThat(arrived)
          .contains("alertname=\"" + ALERT + "\"")
          .contains("run=\"" + RUN + "\"")
          .contains("stage=\"pretrain\"")
          .contains(
              "summary=\"Run "
                  + RUN
                  + ", layer "
                  + layer.group(1)
                  + ": compression-seeking phase began at step "
                  + onset
                  + " (confirmed at step "
                  + step
                  + ")\"");
      // The training annotation shows the run's loss as of the phase's onset: that of the latest
      // window at or before the onset step in the run's training series, not the loss when the
      // alert was evaluated (hundreds of steps later).
      Matcher training =
          Pattern.compile(
                  "training=\"at the onset \\(window of step (\\d+)\\): training loss ([0-9.e+-]+)")
              .matcher(arrived);
      assertThat(training.find()).as(arrived).isTrue();
      java.util.TreeMap<Long, Double> lossByStep = new java.util.TreeMap<>();
      JsonArray points =
          new JsonObject(get(base + "/api/runs/" + RUN + "/training").body())
              .getJsonArray("points");
      for (int i = 0; i < points.size(); i++) {
        JsonObject point = points.getJsonObject(i);
        Double loss = point.getJsonObject("scalars").getDouble("loss");
        if (loss != null) {
          lossByStep.put(point.getLong("step"), loss);
        }
      }
      Map.Entry<Long, Double> atOnset = lossByStep.floorEntry(onset);
      assertThat(atOnset).as("a training window at or before the onset %d", onset).isNotNull();
      assertThat(Long.parseLong(training.group(1))).as(arrived).isEqualTo(atOnset.getKey());
      assertThat(Double.parseDouble(training.group(2)))
          .as(arrived)
          .isCloseTo(atOnset.getValue(), org.assertj.core.data.Percentage.withPercentage(0.1));
    } finally {
      if (pipeline != null && pipeline.isAlive()) {
        // SIGTERM makes the script stop both servers.
        pipeline.destroy();
        pipeline.waitFor(30, TimeUnit.SECONDS);
      }
      Files.deleteIfExists(log);
      if (collector != null) {
        collector.close().await(30, TimeUnit.SECONDS);
      }
      vertx.close().await(30, TimeUnit.SECONDS);
    }
  }

  /** The demo's modular run, shortened to STEPS, with the demo's probe settings. */
  private static void train() throws Exception {
    ModelConfig base = ModelConfig.modularDefaults(59);
    ModelConfig model =
        base.withSchedule(base.learningRate(), base.warmupSteps(), base.schedule(), STEPS);
    try (PhasewatchAgent agent =
            PhasewatchAgent.builder(
                    AgentConfigLoader.load(
                        "",
                        Map.of(),
                        Map.of(
                            "run",
                            RUN,
                            "sampling.mode",
                            "probe",
                            "kafka.bootstrap.servers",
                            KAFKA.bootstrapServers())))
                .start();
        DemoTraining trainer =
            DemoTraining.start(
                new DemoTraining.Settings(
                    model,
                    new DemoTraining.Workload.Modular(59, 0.5, 0),
                    List.of("layers.0.out", "final_norm"),
                    50,
                    1024,
                    0.15,
                    200,
                    5),
                agent)) {
      for (int i = 0; i < STEPS; i++) {
        trainer.step();
      }
      agent.close(Duration.ofSeconds(30));
    }
  }

  private static Path repoRoot() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve("deploy")) && Files.isDirectory(p.resolve("grafana"))) {
        return p;
      }
    }
    throw new IllegalStateException("no deploy/ above " + Path.of("").toAbsolutePath());
  }

  private static long lastStep(String base, String layer) throws Exception {
    HttpResponse<String> r = get(base + "/api/runs/" + RUN + "/layers/" + layer + "/series");
    if (r.statusCode() != 200) {
      return -1;
    }
    JsonArray points = new JsonObject(r.body()).getJsonArray("points");
    return points.isEmpty() ? -1 : points.getJsonObject(points.size() - 1).getLong("step");
  }

  private static List<JsonObject> events(String base, String layer) throws Exception {
    List<JsonObject> out = new ArrayList<>();
    JsonArray all =
        new JsonObject(get(base + "/api/events?run=" + RUN).body()).getJsonArray("events");
    for (int i = 0; i < all.size(); i++) {
      if (layer.equals(all.getJsonObject(i).getString("layer"))) {
        out.add(all.getJsonObject(i));
      }
    }
    return out;
  }

  private static HttpResponse<String> get(String url) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
