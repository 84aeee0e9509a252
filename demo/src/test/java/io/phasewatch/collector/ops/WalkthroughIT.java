package io.phasewatch.collector.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
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
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/walkthrough.md, command for command: the demo's broker ({@code --kafka-only}), {@code
 * serve}, {@code deploy/local/ops-stack.sh} (Debian's Prometheus and Alertmanager), the sidecar jar
 * and the example user script on Debian's PyTorch, each its own process on free ports. The run must
 * reach Prometheus with the study's N and fit window; the alert itself is {@link AlertPipelineIT}'s
 * (a CI-sized run does not reach the compression phase).
 */
class WalkthroughIT {

  private static final String PYTHON = "/usr/bin/python3";
  private static final String RUN = "my-run";
  private static final List<String> LAYERS = List.of("probe.blocks.1", "probe.final_norm");
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir Path tmp;

  private final List<Process> started = new ArrayList<>();

  @Test
  void theWalkthroughTakesAUsersScriptIntoPrometheus() throws Exception {
    // The demo module's tests run in demo/; the walkthrough's commands run from the repository.
    Path root = Path.of("..").toAbsolutePath().normalize();
    Path collectorJar = root.resolve("collector/target/phasewatch-collector.jar");
    Path agentJar = root.resolve("agent/target/phasewatch-agent.jar");
    Path demoJar = root.resolve("demo/target/phasewatch-demo.jar");
    for (Path jar : List.of(collectorJar, agentJar, demoJar)) {
      if (!Files.isRegularFile(jar)) {
        fail(jar + " is missing: `mvn package` builds it before the integration tests");
      }
    }
    for (String tool : List.of("prometheus", "prometheus-alertmanager", "amtool", PYTHON)) {
      Process which = new ProcessBuilder("sh", "-c", "command -v " + tool).start();
      if (which.waitFor() != 0) {
        fail(
            tool
                + " is missing: .ci/run installs prometheus, prometheus-alertmanager, python3-torch");
      }
    }
    requireTorch();
    int kafkaPort = freePort();
    int httpPort = freePort();
    int promPort = freePort();
    String bootstrap = "127.0.0.1:" + kafkaPort;
    Path spool = tmp.resolve("spool");
    try {
      // 1. A Kafka broker.
      Path kafkaLog =
          start(
              "kafka",
              root,
              List.of(java(), "-jar", demoJar.toString(), "--kafka-only", "" + kafkaPort));
      awaitLine(kafkaLog, "kafka at " + bootstrap, Duration.ofSeconds(120));

      // 2. The collector.
      Path serveLog =
          start(
              "serve",
              root,
              List.of(
                  java(),
                  "-jar",
                  collectorJar.toString(),
                  "serve",
                  "--bootstrap-servers",
                  bootstrap,
                  "--http-port",
                  "" + httpPort));

      // 3. Prometheus and Alertmanager.
      Path opsLog =
          start(
              "ops-stack",
              root,
              List.of(
                  "bash",
                  "deploy/local/ops-stack.sh",
                  "--collector",
                  "127.0.0.1:" + httpPort,
                  "--prometheus-port",
                  "" + promPort,
                  "--alertmanager-port",
                  "" + freePort(),
                  "--webhook-port",
                  "" + freePort(),
                  "--interval",
                  "2s"));

      // 4. The sidecar.
      Path sidecarLog =
          start(
              "sidecar",
              root,
              List.of(
                  java(),
                  "-jar",
                  agentJar.toString(),
                  "watch",
                  "--spool",
                  spool.toString(),
                  "--bootstrap-servers",
                  bootstrap));

      // 5. The user's script.
      ProcessBuilder train =
          new ProcessBuilder(
                  PYTHON,
                  "python/examples/modular_addition.py",
                  "--spool",
                  spool.toString(),
                  "--run",
                  RUN,
                  "--steps",
                  "40",
                  "--probe-every",
                  "10")
              .directory(root.toFile())
              .redirectErrorStream(true)
              .redirectOutput(tmp.resolve("train.log").toFile());
      train.environment().put("OMP_NUM_THREADS", "1");
      Process script = train.start();
      started.add(script);
      assertThat(script.waitFor(300, TimeUnit.SECONDS)).as("the script finished").isTrue();
      String trained = Files.readString(tmp.resolve("train.log"));
      assertThat(script.exitValue()).as(trained).isZero();
      assertThat(trained).contains("done: 8 files written, 0 skipped");

      // 6. Watch: the collector's API, then Prometheus.
      String api = "http://127.0.0.1:" + httpPort;
      await()
          .atMost(Duration.ofSeconds(120))
          .pollInterval(Duration.ofSeconds(1))
          .ignoreExceptions()
          .until(
              () ->
                  pointsPerLayer(api).values().stream().allMatch(n -> n == 4)
                      && pointsPerLayer(api).keySet().equals(new java.util.TreeSet<>(LAYERS)));
      JsonArray layers =
          new JsonObject(get(api + "/api/runs").body())
              .getJsonArray("runs")
              .getJsonObject(0)
              .getJsonArray("layers");
      for (int i = 0; i < layers.size(); i++) {
        JsonObject l = layers.getJsonObject(i);
        assertThat(l.getLong("window_samples")).as(l.encode()).isEqualTo(1024);
        assertThat(l.getInteger("dimension")).isEqualTo(128);
        assertThat(l.getBoolean("alpha_fit_fallback")).as(l.encode()).isFalse();
        assertThat(l.getLong("step")).isEqualTo(40);
      }

      String prom = "http://127.0.0.1:" + promPort;
      await()
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofSeconds(1))
          .ignoreExceptions()
          .until(
              () ->
                  promResult(prom, "phasewatch_effective_rank{run=\"" + RUN + "\"}").size()
                      == LAYERS.size());
      String rules = get(prom + "/api/v1/rules").body();
      assertThat(rules).contains("PhasewatchCompressionPhaseStarted", "PhasewatchRunSilent");
      assertThat(Files.readString(opsLog)).contains("scrape of 127.0.0.1:" + httpPort + ": up");

      // The first lines the docs show, and quiet Kafka clients.
      assertThat(firstLine(serveLog))
          .matches(
              ".* INFO phasewatch \\S+ serve: http://127.0.0.1:"
                  + httpPort
                  + " \\(/metrics, /api, live page /\\), consuming topic phasewatch.sketches from "
                  + bootstrap
                  + " as group phasewatch-collector, spectrum on .*, alpha fit 12:100");
      assertThat(firstLine(sidecarLog))
          .matches(
              ".* INFO phasewatch-agent \\S+ watch: reading "
                  + spool
                  + ", publishing to topic phasewatch.sketches at "
                  + bootstrap
                  + ", summary every 300 s");
      // serve's first status line comes 30 s after its start, whatever the run did.
      awaitLine(serveLog, "INFO collector status: consumer ready", Duration.ofSeconds(60));
      String serve = Files.readString(serveLog);
      assertThat(serve)
          .contains("first snapshot arrived", "first window measured: run=" + RUN)
          .doesNotContain("ConsumerConfig values");
      assertThat(Files.readString(sidecarLog))
          .contains("first snapshot delivered to phasewatch.sketches")
          .doesNotContain("ProducerConfig values");
    } finally {
      stopAll();
    }
  }

  /** Layer → number of points of run my-run, from the series endpoint. */
  private static Map<String, Integer> pointsPerLayer(String api) throws Exception {
    Map<String, Integer> out = new TreeMap<>();
    HttpResponse<String> runs = get(api + "/api/runs");
    if (runs.statusCode() != 200) {
      return out;
    }
    for (Object r : new JsonObject(runs.body()).getJsonArray("runs")) {
      JsonObject run = (JsonObject) r;
      if (!run.getString("run").equals(RUN)) {
        continue;
      }
      for (Object l : run.getJsonArray("layers")) {
        String layer = ((JsonObject) l).getString("layer");
        JsonObject series =
            new JsonObject(get(api + "/api/runs/" + RUN + "/layers/" + layer + "/series").body());
        out.put(layer, series.getJsonArray("points").size());
      }
    }
    return out;
  }

  private static JsonArray promResult(String prom, String query) throws Exception {
    HttpResponse<String> r =
        get(prom + "/api/v1/query?query=" + URLEncoder.encode(query, StandardCharsets.UTF_8));
    if (r.statusCode() != 200) {
      return new JsonArray();
    }
    return new JsonObject(r.body()).getJsonObject("data").getJsonArray("result");
  }

  private Path start(String name, Path dir, List<String> command) throws IOException {
    Path log = tmp.resolve(name + ".log");
    Process p =
        new ProcessBuilder(command)
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    started.add(p);
    return log;
  }

  /** SIGTERM to each, newest first (the script before the sidecar before the broker). */
  private void stopAll() throws Exception {
    for (int i = started.size() - 1; i >= 0; i--) {
      started.get(i).destroy();
    }
    for (Process p : started) {
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        fail("a process of the walkthrough did not stop on SIGTERM: " + p.info().commandLine());
      }
    }
  }

  private static void awaitLine(Path log, String text, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!(Files.exists(log) && Files.readString(log).contains(text))) {
      if (System.nanoTime() > deadline) {
        fail(
            "'"
                + text
                + "' not in "
                + log.getFileName()
                + " within "
                + timeout
                + ":\n"
                + (Files.exists(log) ? Files.readString(log) : "(no log)"));
      }
      Thread.sleep(500);
    }
  }

  private static String firstLine(Path log) throws IOException {
    return Files.readAllLines(log).get(0);
  }

  private static HttpResponse<String> get(String url) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static void requireTorch() throws Exception {
    Process p =
        new ProcessBuilder(PYTHON, "-c", "import numpy, torch").redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
      fail(PYTHON + " with numpy and torch is needed; .ci/run installs python3-torch: " + out);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static String java() {
    return ProcessHandle.current().info().command().orElse("java");
  }
}
