package io.phasewatch.collector.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import io.phasewatch.collector.config.CollectorConfig;
import io.phasewatch.collector.config.ConfigLoader;
import io.phasewatch.collector.service.CollectorService;
import io.phasewatch.collector.spectrum.FitRange;
import io.phasewatch.collector.spectrum.SpectralMeasures;
import io.phasewatch.collector.spectrum.Spectrum;
import io.phasewatch.core.arrays.MatrixFiles;
import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.testkit.KafkaBroker;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
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
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole Python path with every part real: Debian's PyTorch trains a tiny model with the spool
 * helper hooked in, the shaded sidecar jar in its own JVM publishes the spool files to a KRaft
 * broker, and the collector computes the measures. Its HTTP API and scrape must show, for every
 * layer and flush step, the RankMe and α of an exact summary of the very rows the trainer wrote
 * (kept by the sidecar in {@code done/}).
 */
class PyTorchSidecarIT {

  private static final Path JAR = Path.of("..", "agent", "target", "phasewatch-agent.jar");
  private static final Path TRAIN = Path.of("..", "python", "examples", "train_tiny.py");
  private static final String PYTHON = "/usr/bin/python3.11";
  private static final String RUN = "torch-e2e";
  private static final int STEPS = 40;
  private static final int EVERY = 5;
  private static final int ROWS = 32;
  private static final int D = 32;
  private static final List<String> LAYERS = List.of("layers.0", "layers.1", "norm");
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir Path tmp;

  @Test
  void aPyTorchRunShowsInTheCollectorWithTheMeasuresOfTheRowsItWrote() throws Exception {
    requireJarAndTorch();
    KafkaBroker broker = null;
    Vertx vertx = null;
    CollectorService collector = null;
    Process sidecar = null;
    Path sidecarLog = tmp.resolve("sidecar.log");
    Path trainLog = tmp.resolve("train.log");
    try {
      broker = KafkaBroker.start();
      String topic = broker.createTopic("pytorch-e2e");
      broker.createTopic(topic + ".dlq");

      Map<String, String> o = new HashMap<>();
      o.put("kafka.bootstrap-servers", broker.bootstrapServers());
      o.put("kafka.topic", topic);
      o.put("kafka.dlq-topic", topic + ".dlq");
      o.put("kafka.group-id", topic);
      o.put("http.port", "0");
      CollectorConfig config = ConfigLoader.load(null, Map.of(), o);
      vertx = Vertx.vertx();
      collector = CollectorService.start(vertx, config).await(60, TimeUnit.SECONDS);

      Path spool = tmp.resolve("spool");
      sidecar =
          new ProcessBuilder(
                  java(),
                  "-jar",
                  JAR.toString(),
                  "watch",
                  "--spool",
                  spool.toString(),
                  "--bootstrap-servers",
                  broker.bootstrapServers(),
                  "--set",
                  "publish.topic=" + topic,
                  "--set",
                  "spool.scan-interval=200ms",
                  "--set",
                  "spool.keep-done=true")
              .redirectErrorStream(true)
              .redirectOutput(sidecarLog.toFile())
              .start();

      var pb =
          new ProcessBuilder(
                  PYTHON,
                  TRAIN.toString(),
                  "--spool",
                  spool.toString(),
                  "--run",
                  RUN,
                  "--steps",
                  Integer.toString(STEPS),
                  "--every",
                  Integer.toString(EVERY),
                  "--rows",
                  Integer.toString(ROWS),
                  "--d",
                  Integer.toString(D))
              .redirectErrorStream(true)
              .redirectOutput(trainLog.toFile());
      pb.environment().put("OMP_NUM_THREADS", "1");
      Process train = pb.start();
      try {
        assertThat(train.waitFor(120, TimeUnit.SECONDS)).as("training finished").isTrue();
      } finally {
        train.destroy();
        if (!train.waitFor(10, TimeUnit.SECONDS)) {
          train.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      }
      int files = LAYERS.size() * (STEPS / EVERY);
      assertThat(train.exitValue()).as(Files.readString(trainLog)).isZero();
      assertThat(Files.readString(trainLog)).contains("done: " + files + " files written");

      CollectorService c = collector;
      await()
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(250))
          .until(() -> everyLayerHasPoints(c, STEPS / EVERY));

      // What the trainer wrote, as the sidecar kept it after publishing: layer → step → measures.
      Map<String, Map<Long, SpectralMeasures>> direct = measuresOfDoneFiles(spool.resolve("done"));
      assertThat(direct.keySet())
          .as(Files.readString(sidecarLog))
          .containsExactlyInAnyOrderElementsOf(LAYERS);

      JsonArray runs = new JsonObject(get(c, "/api/runs").body()).getJsonArray("runs");
      assertThat(runs).hasSize(1);
      assertThat(runs.getJsonObject(0).getString("run")).isEqualTo(RUN);
      List<String> runLayers = new ArrayList<>();
      runs.getJsonObject(0)
          .getJsonArray("layers")
          .forEach(l -> runLayers.add(((JsonObject) l).getString("layer")));
      assertThat(runLayers).containsExactlyInAnyOrderElementsOf(LAYERS);

      String scrape = get(c, "/metrics").body();
      for (String layer : LAYERS) {
        Map<Long, SpectralMeasures> byStep = direct.get(layer);
        assertThat(byStep.keySet()).containsExactly(5L, 10L, 15L, 20L, 25L, 30L, 35L, 40L);
        JsonArray points =
            new JsonObject(get(c, "/api/runs/" + RUN + "/layers/" + layer + "/series").body())
                .getJsonArray("points");
        assertThat(points).as(layer).hasSize(STEPS / EVERY);
        List<Long> steps = new ArrayList<>();
        for (int i = 0; i < points.size(); i++) {
          JsonObject p = points.getJsonObject(i);
          long step = p.getLong("step");
          steps.add(step);
          SpectralMeasures m = byStep.get(step);
          String what = layer + " at step " + step;
          assertThat(p.getLong("window")).as(what + ": window id = step").isEqualTo(step);
          assertThat(p.getLong("window_samples")).as(what).isEqualTo(ROWS);
          assertThat(p.getInteger("dimension")).as(what).isEqualTo(D);
          assertThat(p.getBoolean("window_partial")).as(what).isFalse();
          assertThat(p.getLong("nonfinite_rows")).as(what).isZero();
          assertThat(p.getDouble("effective_rank"))
              .as(what + ": RankMe")
              .isNotNull()
              .isGreaterThan(1.0)
              .isLessThanOrEqualTo(D)
              .isCloseTo(m.effectiveRank(), close(m.effectiveRank()));
          assertThat(p.getDouble("alpha"))
              .as(what + ": α (%s)", p.getString("alpha_note"))
              .isNotNull()
              .isCloseTo(m.alpha(), close(m.alpha()));
          assertThat(p.getDouble("effective_rank_error_bound")).as(what).isZero();
        }
        assertThat(steps).as(layer).containsExactly(5L, 10L, 15L, 20L, 25L, 30L, 35L, 40L);

        SpectralMeasures last = byStep.get((long) STEPS);
        assertThat(value(scrape, "phasewatch_effective_rank", layer))
            .isCloseTo(last.effectiveRank(), close(last.effectiveRank()));
        assertThat(value(scrape, "phasewatch_alpha", layer))
            .isCloseTo(last.alpha(), close(last.alpha()));
        assertThat(value(scrape, "phasewatch_last_step", layer)).isEqualTo(STEPS);
        assertThat(value(scrape, "phasewatch_window_samples", layer)).isEqualTo(ROWS);
      }
    } finally {
      if (sidecar != null) {
        sidecar.destroy();
        if (!sidecar.waitFor(30, TimeUnit.SECONDS)) {
          sidecar.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      }
      if (collector != null) {
        collector.close().await(30, TimeUnit.SECONDS);
      }
      if (vertx != null) {
        vertx.close().await(30, TimeUnit.SECONDS);
      }
      if (broker != null) {
        broker.close();
      }
    }
    assertThat(Files.readString(sidecarLog))
        .contains("done " + LAYERS.size() * (STEPS / EVERY) + " files");
  }

  // ---------------------------------------------------------------------------------------------

  private void requireJarAndTorch() throws Exception {
    if (!Files.isRegularFile(JAR)) {
      fail(
          JAR.toAbsolutePath().normalize()
              + " is missing: it is the agent module's shaded jar, built by `mvn package` (or"
              + " `mvn verify`) in agent/ before the collector's integration tests run");
    }
    String probe = "";
    if (Files.isExecutable(Path.of(PYTHON))) {
      Process p =
          new ProcessBuilder(PYTHON, "-c", "import numpy, torch").redirectErrorStream(true).start();
      try {
        probe = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
          probe = "import failed: " + probe;
        }
      } finally {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } else {
      probe = PYTHON + " does not exist";
    }
    if (!probe.isBlank()) {
      fail(
          PYTHON
              + " with numpy and torch is needed for this test; .ci/run installs Debian's"
              + " python3-torch. Probe said: "
              + probe);
    }
  }

  private static String java() {
    return ProcessHandle.current().info().command().orElse("java");
  }

  /**
   * Reads each published spool file back ({@code run=…,layer=…,step=….npy}), folds its rows into an
   * exact summary and computes the measures the way DESIGN.md defines them, with the collector's
   * default fit range.
   */
  private static Map<String, Map<Long, SpectralMeasures>> measuresOfDoneFiles(Path done)
      throws IOException {
    Map<String, Map<Long, SpectralMeasures>> out = new TreeMap<>();
    List<Path> files;
    try (Stream<Path> s = Files.list(done)) {
      files = s.filter(p -> p.getFileName().toString().endsWith(".npy")).sorted().toList();
    }
    for (Path f : files) {
      String name = f.getFileName().toString();
      Map<String, String> keys = new HashMap<>();
      for (String kv : name.substring(0, name.length() - ".npy".length()).split(",")) {
        int eq = kv.indexOf('=');
        keys.put(kv.substring(0, eq), kv.substring(eq + 1));
      }
      assertThat(keys).as(name).containsEntry("run", RUN);
      List<MatrixFiles.Matrix> matrices = MatrixFiles.readAll(f, 1 << 20);
      assertThat(matrices).as(name).hasSize(1);
      MatrixFiles.Matrix m = matrices.get(0);
      assertThat(m.info().rows()).as(name).isEqualTo(ROWS);
      assertThat(m.info().cols()).as(name).isEqualTo(D);
      ExactSummary summary = ExactSummary.ofDimension(D);
      summary.update(m.data(), ROWS);
      SpectralMeasures measures =
          SpectralMeasures.of(Spectrum.of(summary.snapshot()), FitRange.parse("12:100"));
      SpectralMeasures previous =
          out.computeIfAbsent(keys.get("layer"), k -> new TreeMap<>())
              .put(Long.parseLong(keys.get("step")), measures);
      assertThat(previous).as("one file per layer and step: " + name).isNull();
    }
    return out;
  }

  private static boolean everyLayerHasPoints(CollectorService c, int n) throws Exception {
    for (String layer : LAYERS) {
      HttpResponse<String> r = get(c, "/api/runs/" + RUN + "/layers/" + layer + "/series");
      if (r.statusCode() != 200 || new JsonObject(r.body()).getJsonArray("points").size() < n) {
        return false;
      }
    }
    return true;
  }

  private static HttpResponse<String> get(CollectorService c, String path)
      throws IOException, InterruptedException {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + c.httpPort() + path)).build(),
            HttpResponse.BodyHandlers.ofString());
    return r;
  }

  /** The one sample of {@code name} for this run and layer. */
  private static double value(String scrape, String name, String layer) {
    List<Double> found = new ArrayList<>();
    for (String line : scrape.lines().toList()) {
      if (line.startsWith(name + "{")
          && line.contains("run=\"" + RUN + "\"")
          && line.contains("layer=\"" + layer + "\"")) {
        found.add(Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
      }
    }
    assertThat(found).as(name + " of " + layer).hasSize(1);
    return found.get(0);
  }

  private static Offset<Double> close(double direct) {
    assertThat(Double.isFinite(direct)).as("direct value %s is finite", direct).isTrue();
    return Offset.offset(1e-9 * Math.max(1, Math.abs(direct)));
  }
}
