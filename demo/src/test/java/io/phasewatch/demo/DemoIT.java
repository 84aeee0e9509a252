package io.phasewatch.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.phasewatch.testkit.KafkaBroker;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The README's first command, shortened: a headless demo with the real broker, agent, collector and
 * engine; the page is loaded in headless Chromium while the model trains.
 */
class DemoIT {

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @TempDir Path dir;

  @Test
  void headlessDemoRunsEveryPieceAndWritesTheReport() throws Exception {
    int port = freePort();
    Path report = dir.resolve("report");
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    CompletableFuture<Integer> demo =
        runDemo(
            console,
            "--task",
            "language",
            "--headless",
            "--steps",
            "160",
            "--probe-every",
            "40",
            "--dense-probe-until",
            "100",
            "--dense-probe-every",
            "10",
            "--probe-sequences",
            "128",
            "--probe-budget",
            "1.0",
            "--http-port",
            Integer.toString(port),
            "--report-dir",
            report.toString(),
            "--run",
            "it-run");

    String base = "http://127.0.0.1:" + port;
    // While it trains: the collector has computed something for both layers and serves it.
    JsonObject runs = awaitLayers(base, "it-run", 2, demo);
    assertThat(runs.getJsonArray("runs").getJsonObject(0).getString("run")).isEqualTo("it-run");
    // /api lists a layer as soon as it has a window; its per-layer gauges appear once the windows
    // the collector found already waiting at its start are replayed (docs/operations.md).
    String metrics = awaitMetric(base, "phasewatch_effective_rank{", demo);
    assertThat(metrics)
        .contains("phasewatch_effective_rank{")
        .contains("run=\"it-run\"")
        .contains("layer=\"final_norm\"")
        .contains("phasewatch_snapshots_ingested_total");
    HttpResponse<String> page = get(base + "/");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.body()).contains("<svg id=\"rank-chart\"");
    assertThat(get(base + "/phasewatch.js").statusCode()).isEqualTo(200);
    browserShowsCharts(base);

    assertThat(demo.get(8, TimeUnit.MINUTES)).as(console.toString(StandardCharsets.UTF_8)).isZero();
    JsonObject summary = new JsonObject(Files.readString(report.resolve("summary.json")));
    assertThat(summary.getString("run")).isEqualTo("it-run");
    assertThat(summary.getJsonObject("training").getLong("steps")).isEqualTo(160);
    JsonArray layers = summary.getJsonArray("layers");
    assertThat(layers).hasSize(2);
    for (int i = 0; i < layers.size(); i++) {
      JsonArray series = layers.getJsonObject(i).getJsonArray("series");
      // Dense probes at 10…100 and the steady cadence at 120 and 160.
      assertThat(series.size()).isGreaterThanOrEqualTo(10);
      assertThat(series.getJsonObject(0).getDouble("effective_rank")).isGreaterThan(1.0);
    }
    // The loss went along with the windows: one entry per probe window, each with a finite loss.
    JsonArray scalars = summary.getJsonArray("training_scalars");
    assertThat(scalars.size()).isGreaterThanOrEqualTo(10);
    for (int i = 0; i < scalars.size(); i++) {
      assertThat(scalars.getJsonObject(i).getDouble("loss")).isPositive();
      assertThat(scalars.getJsonObject(i).getDouble("learning_rate")).isPositive();
    }
    BufferedImage png = ImageIO.read(report.resolve("figure.png").toFile());
    assertThat(png.getWidth()).isPositive();
    assertThat(Files.readString(report.resolve("figure.svg"))).contains("<svg");
    assertThat(console.toString(StandardCharsets.UTF_8))
        .contains("step 160/160")
        .contains("phase transitions detected by the collector");
  }

  @Test
  void demoUsesAnExistingBrokerWhenGivenOne() throws Exception {
    try (KafkaBroker broker = KafkaBroker.start()) {
      Path report = dir.resolve("external");
      ByteArrayOutputStream console = new ByteArrayOutputStream();
      int code =
          runDemo(
                  console,
                  "--task",
                  "modular",
                  "--headless",
                  "--steps",
                  "40",
                  "--probe-every",
                  "20",
                  "--dense-probe-until",
                  "0",
                  "--probe-sequences",
                  "128",
                  "--probe-budget",
                  "1.0",
                  "--http-port",
                  Integer.toString(freePort()),
                  "--bootstrap-servers",
                  broker.bootstrapServers(),
                  "--report-dir",
                  report.toString(),
                  "--run",
                  "external-run")
              .get(5, TimeUnit.MINUTES);
      String out = console.toString(StandardCharsets.UTF_8);
      assertThat(code).as(out).isZero();
      assertThat(out)
          .contains("kafka at " + broker.bootstrapServers())
          .doesNotContain("in-process Kafka");
      JsonObject summary = new JsonObject(Files.readString(report.resolve("summary.json")));
      JsonArray layers = summary.getJsonArray("layers");
      assertThat(layers).hasSize(2);
      assertThat(layers.getJsonObject(0).getJsonArray("series").size()).isEqualTo(2);
      // The modular task's accuracy, measured after each probe pass, travelled with its window.
      JsonArray accuracy = summary.getJsonObject("training").getJsonArray("accuracy");
      assertThat(accuracy).hasSize(2);
      JsonArray scalars = summary.getJsonArray("training_scalars");
      assertThat(scalars).hasSize(2);
      for (int i = 0; i < 2; i++) {
        JsonObject measured = accuracy.getJsonObject(i);
        JsonObject window = scalars.getJsonObject(i);
        assertThat(window.getLong("step"))
            .isEqualTo(measured.getLong("step"))
            .isEqualTo(20L * (i + 1));
        assertThat(window.getDouble("train_accuracy")).isEqualTo(measured.getDouble("train"));
        assertThat(window.getDouble("held_out_accuracy"))
            .isEqualTo(measured.getDouble("held_out"))
            .isBetween(0.0, 1.0);
      }
      assertThat(Files.readString(report.resolve("series.csv")))
          .startsWith("step,layer,rankme,alpha,train_acc,test_acc,phase\n");
      assertThat(out).contains("acc train ").contains("accuracy at step 40: train ");
    }
  }

  @Test
  void postTrainingStagesReachTheCollectorAndTheReport() throws Exception {
    Path report = dir.resolve("post");
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    int code =
        runDemo(
                console,
                "--task",
                "language",
                "--headless",
                "--steps",
                "60",
                "--post-training",
                "sft,dpo,rlvr",
                "--probe-every",
                "50",
                "--dense-probe-until",
                "0",
                "--probe-sequences",
                "64",
                "--probe-budget",
                "1.0",
                "--http-port",
                Integer.toString(freePort()),
                "--report-dir",
                report.toString(),
                "--run",
                "post-run")
            .get(8, TimeUnit.MINUTES);
    String out = console.toString(StandardCharsets.UTF_8);
    assertThat(code).as(out).isZero();
    assertThat(out).contains("post-training sft:", "post-training dpo:", "post-training rlvr:");
    JsonObject summary = new JsonObject(Files.readString(report.resolve("summary.json")));
    // The collector saw every stage, in order, from the snapshots' own metadata.
    List<String> stages = new ArrayList<>();
    JsonArray boundaries = summary.getJsonArray("stages");
    for (int i = 0; i < boundaries.size(); i++) {
      stages.add(boundaries.getJsonObject(i).getString("stage"));
    }
    assertThat(stages).containsExactly("pretrain", "sft", "dpo", "rlvr");
    JsonArray reports = summary.getJsonObject("training").getJsonArray("post_training");
    assertThat(reports).hasSize(3);
    assertThat(reports.getJsonObject(0).getLong("first_step")).isEqualTo(61);
    JsonObject rlvr = reports.getJsonObject(2);
    assertThat(rlvr.getString("stage")).isEqualTo("rlvr");
    assertThat(rlvr.getJsonObject("after").getDouble("pass@1")).isNotNull();
    // Each stage is probed at every step from its first (61, 361, 561) up to its first multiple
    // of 10, then every 10 steps (--stage-probe-every's default): SFT 300, DPO 200 and RLVR 200
    // steps give 9 + 30, 9 + 20 and 9 + 20 windows per layer, the first one at the stage's first
    // step, so the detector's log-step axis of each stage starts where the stage does.
    JsonArray findings = summary.getJsonArray("post_training_geometry");
    assertThat(findings).hasSize(6);
    for (int i = 0; i < findings.size(); i++) {
      JsonObject f = findings.getJsonObject(i);
      assertThat(f.getInteger("windows")).isEqualTo("sft".equals(f.getString("stage")) ? 39 : 29);
      assertThat(f.getString("predicted"))
          .isEqualTo(
              "rlvr".equals(f.getString("stage")) ? "compression_seeking" : "entropy_seeking");
      // Labelled by its data: the phases the detector entered, or steady over enough windows;
      // never "unlabelled" (too few windows for the detector to judge).
      assertThat(f.getString("label")).as(f.encode()).isNotEqualTo("unlabelled");
    }
    for (int i = 0; i < boundaries.size(); i++) {
      JsonObject b = boundaries.getJsonObject(i);
      if (!"pretrain".equals(b.getString("stage"))) {
        assertThat(b.getLong("step"))
            .as(b.encode())
            .isEqualTo(reports.getJsonObject(i - 1).getLong("first_step"));
      }
    }
    assertThat(out)
        .contains("the study predicts entropy_seeking", "the study predicts compression_seeking");
  }

  /** Headless Chromium runs the page's script against the live collector and draws both charts. */
  private void browserShowsCharts(String base) throws Exception {
    Path chromium = Path.of("/usr/bin/chromium");
    assertThat(chromium)
        .as("Debian's chromium is needed for the browser test; .ci/run installs it")
        .exists();
    Path profile = Files.createTempDirectory(dir, "chromium");
    Path screenshot = dir.resolve("page.png");
    List<String> flags =
        List.of(
            chromium.toString(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--user-data-dir=" + profile,
            "--virtual-time-budget=8000",
            "--window-size=1100,1400");
    List<String> dump = new ArrayList<>(flags);
    dump.add("--dump-dom");
    dump.add(base + "/");
    String dom = run(dump);
    Matcher lines = Pattern.compile("class=\"line\"[^>]*data-points=\"(\\d+)\"").matcher(dom);
    List<Integer> points = new ArrayList<>();
    while (lines.find()) {
      points.add(Integer.parseInt(lines.group(1)));
    }
    // Two layers in each of the two geometry charts and the training loss beside them, each line
    // with data.
    assertThat(points).as(dom).hasSize(5).allSatisfy(n -> assertThat(n).isPositive());
    assertThat(dom).contains("final_norm").contains("data-layer=\"loss\"").doesNotContain("error:");
    List<String> shot = new ArrayList<>(flags);
    shot.add("--screenshot=" + screenshot);
    shot.add(base + "/");
    run(shot);
    BufferedImage image = ImageIO.read(screenshot.toFile());
    assertThat(image.getWidth()).isEqualTo(1100);
    Files.createDirectories(Path.of("target"));
    Files.copy(
        screenshot,
        Path.of("target", "demo-page.png"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  private static String run(List<String> command) throws Exception {
    Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(90, TimeUnit.SECONDS)).as("chromium finished").isTrue();
    return out;
  }

  private static CompletableFuture<Integer> runDemo(ByteArrayOutputStream console, String... args) {
    return CompletableFuture.supplyAsync(
        () -> {
          CommandLine cli = DemoCommand.commandLine();
          PrintStream out = new PrintStream(console, true, StandardCharsets.UTF_8);
          cli.setOut(new java.io.PrintWriter(out, true));
          cli.setErr(new java.io.PrintWriter(out, true));
          PrintStream saved = System.out;
          System.setOut(new TeeStream(saved, out));
          try {
            return cli.execute(args);
          } finally {
            System.setOut(saved);
          }
        });
  }

  private static String awaitMetric(String base, String name, CompletableFuture<Integer> demo)
      throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    String body = get(base + "/metrics").body();
    while (!body.contains(name) && !demo.isDone() && System.nanoTime() < deadline) {
      Thread.sleep(200);
      body = get(base + "/metrics").body();
    }
    return body;
  }

  private static JsonObject awaitLayers(
      String base, String run, int layers, CompletableFuture<Integer> demo) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
    while (System.nanoTime() < deadline) {
      if (demo.isDone()) {
        throw new AssertionError("demo ended before the collector served data: " + demo.get());
      }
      try {
        HttpResponse<String> r = get(base + "/api/runs");
        if (r.statusCode() == 200) {
          JsonObject json = new JsonObject(r.body());
          JsonArray runs = json.getJsonArray("runs");
          for (int i = 0; i < runs.size(); i++) {
            JsonObject o = runs.getJsonObject(i);
            if (o.getString("run").equals(run)
                && o.getJsonArray("layers").size() >= layers
                && everyLayerHasPoints(base, run, o.getJsonArray("layers"), 3)) {
              return json;
            }
          }
        }
      } catch (IOException notYet) {
        // the collector is not listening yet
      }
      Thread.sleep(500);
    }
    throw new AssertionError("no data for run " + run + " within 5 minutes");
  }

  private static boolean everyLayerHasPoints(String base, String run, JsonArray layers, int n)
      throws Exception {
    for (int i = 0; i < layers.size(); i++) {
      String layer = layers.getJsonObject(i).getString("layer");
      HttpResponse<String> r = get(base + "/api/runs/" + run + "/layers/" + layer + "/series");
      if (r.statusCode() != 200 || new JsonObject(r.body()).getJsonArray("points").size() < n) {
        return false;
      }
    }
    return true;
  }

  private static HttpResponse<String> get(String url) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** The demo prints to System.out; the test keeps a copy to assert on. */
  private static final class TeeStream extends PrintStream {
    private final PrintStream copy;

    TeeStream(PrintStream main, PrintStream copy) {
      super(main, true, StandardCharsets.UTF_8);
      this.copy = copy;
    }

    @Override
    public void write(byte[] buf, int off, int len) {
      super.write(buf, off, len);
      copy.write(buf, off, len);
    }

    @Override
    public void write(int b) {
      super.write(b);
      copy.write(b);
    }
  }
}
