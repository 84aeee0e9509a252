package io.phasewatch.demo;

import io.phasewatch.agent.config.AgentConfigLoader;
import io.phasewatch.agent.core.PhasewatchAgent;
import io.phasewatch.collector.config.CollectorConfig;
import io.phasewatch.collector.config.ConfigLoader;
import io.phasewatch.collector.metrics.LayerState;
import io.phasewatch.collector.phase.PhaseTransition;
import io.phasewatch.collector.service.CollectorService;
import io.phasewatch.core.wire.Stage;
import io.phasewatch.demo.training.DemoTraining;
import io.phasewatch.demo.training.ModelConfig;
import io.phasewatch.demo.training.PostTraining;
import io.phasewatch.demo.training.PostTrainingConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code java -jar phasewatch-demo.jar}: the whole product on one machine — a Kafka broker in this
 * JVM (or the operator's), the collector, and the small model training with the agent attached in
 * probe mode — then the study's figure and a JSON summary in the report folder.
 */
@Command(
    name = "phasewatch-demo",
    mixinStandardHelpOptions = true,
    version = "phasewatch 0.1.0",
    description = {
      "Trains a small transformer with the agent attached and watches its phases live:",
      "embedded Kafka, the collector on --http-port (live page at /), a report at the end."
    })
public final class DemoCommand implements Callable<Integer> {

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The configured command line, for tests that capture its output. */
  public static CommandLine commandLine() {
    return new CommandLine(new DemoCommand());
  }

  @Option(names = "--steps", description = "Training steps (default: ${DEFAULT-VALUE}).")
  int steps = 1500;

  @Option(
      names = "--layers",
      split = ",",
      description = "Blocks to tap, names or globs (default: ${DEFAULT-VALUE}).")
  List<String> layers = List.of("layers.0.out", "final_norm");

  @Option(
      names = "--corpus",
      paramLabel = "FILE",
      description = "A UTF-8 text file to train on instead of the generated Zipf corpus.")
  Path corpus;

  @Option(names = "--http-port", description = "Collector HTTP port (default: ${DEFAULT-VALUE}).")
  int httpPort = 8080;

  @Option(
      names = "--bootstrap-servers",
      paramLabel = "HOST:PORT",
      description = "Use this Kafka instead of starting one in-process.")
  String bootstrapServers;

  @Option(
      names = "--report-dir",
      paramLabel = "DIR",
      description = "Where the figure and summary go (default: ${DEFAULT-VALUE}).")
  Path reportDir = Path.of("phasewatch-report");

  @Option(names = "--headless", description = "Plain log lines instead of the live terminal view.")
  boolean headless;

  @Option(
      names = "--probe-every",
      description = "Probe the tapped layers every K steps (default: ${DEFAULT-VALUE}).")
  int probeEvery = 50;

  @Option(
      names = "--probe-sequences",
      description = "Sequences in the fixed probe set (default: ${DEFAULT-VALUE}).")
  int probeSequences = 256;

  @Option(
      names = "--probe-budget",
      description =
          "Share of the step time the probe may take before its cadence stretches"
              + " (default: ${DEFAULT-VALUE}).")
  double probeBudget = 0.15;

  @Option(
      names = "--dense-probe-until",
      description =
          "Also probe every --dense-probe-every steps up to this step, so the short warmup"
              + " collapse is resolved on the log-step axis (default: ${DEFAULT-VALUE}).")
  int denseProbeUntil = 200;

  @Option(
      names = "--dense-probe-every",
      description = "Early probe cadence (default: ${DEFAULT-VALUE}).")
  int denseProbeEvery = 5;

  @Option(
      names = "--post-training",
      paramLabel = "STAGES",
      description =
          "After pretraining, run these post-training stages in order: any of sft,dpo,rlvr"
              + " (see docs/post-training.md).")
  String postTraining;

  @Option(names = "--run", description = "Run id (default: demo-<time>).")
  String run;

  @Override
  public Integer call() throws Exception {
    System.setProperty("java.awt.headless", "true");
    System.setProperty("ai.djl.offline", "true");
    // One training thread leaves the second core to the broker, the collector and the agent, and
    // keeps step times steady (PyTorch's spinning OpenMP threads fight everything else for CPU).
    if (System.getProperty("ai.djl.pytorch.num_threads") == null) {
      System.setProperty("ai.djl.pytorch.num_threads", "1");
      System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
    }
    quietLibraries();
    if (steps < 1) {
      throw new IllegalArgumentException("demo: --steps must be ≥ 1, got " + steps);
    }
    String runId = run != null ? run : "demo-" + System.currentTimeMillis() / 1000;
    List<Stage> stages =
        postTraining == null || postTraining.isBlank()
            ? List.of()
            : PostTraining.parseStages(postTraining);
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    EmbeddedKafka kafka = null;
    Vertx vertx = null;
    CollectorService collector = null;
    try {
      String bootstrap = bootstrapServers;
      if (bootstrap == null) {
        out.println("starting an in-process Kafka broker (KRaft) …");
        kafka = EmbeddedKafka.start();
        bootstrap = kafka.bootstrapServers();
      }
      out.println("kafka at " + bootstrap);

      Map<String, String> collectorFlags = new LinkedHashMap<>();
      collectorFlags.put("kafka.bootstrap-servers", bootstrap);
      collectorFlags.put("kafka.group-id", "phasewatch-demo-" + runId);
      collectorFlags.put("http.port", Integer.toString(httpPort));
      CollectorConfig collectorConfig = ConfigLoader.load(null, Map.of(), collectorFlags);
      vertx = Vertx.vertx();
      collector = CollectorService.start(vertx, collectorConfig).await(120, TimeUnit.SECONDS);
      out.println(
          "collector: http://127.0.0.1:" + collector.httpPort() + "/  (metrics at /metrics)");

      Map<String, String> agentFlags = new LinkedHashMap<>();
      agentFlags.put("run", runId);
      agentFlags.put("sampling.mode", "probe");
      agentFlags.put("kafka.bootstrap.servers", bootstrap);
      ModelConfig model =
          ModelConfig.demoDefaults()
              .withSchedule(
                  ModelConfig.demoDefaults().learningRate(),
                  ModelConfig.demoDefaults().warmupSteps(),
                  ModelConfig.demoDefaults().schedule(),
                  Math.max(steps, ModelConfig.demoDefaults().warmupSteps() + 1));
      DemoTraining.Settings settings =
          new DemoTraining.Settings(
              model,
              corpus,
              layers,
              probeEvery,
              probeSequences,
              probeBudget,
              denseProbeUntil,
              denseProbeEvery);
      long started = System.nanoTime();
      long trainedNanos;
      JsonObject training;
      try (PhasewatchAgent agent =
              PhasewatchAgent.builder(AgentConfigLoader.load("", Map.of(), agentFlags)).start();
          DemoTraining trainer = DemoTraining.start(settings, agent)) {
        out.println("training " + steps + " steps, probing " + trainer.tappedLayers());
        DemoConsole console = new DemoConsole(out, !headless && System.console() != null);
        double loss = Double.NaN;
        long lastDraw = 0;
        for (int i = 0; i < steps; i++) {
          loss = trainer.step();
          long now = System.nanoTime();
          if (now - lastDraw > (headless ? 5_000_000_000L : 500_000_000L) || i == steps - 1) {
            lastDraw = now;
            double seconds = (now - started) / 1e9;
            console.update(
                new DemoConsole.Progress(
                    trainer.steps(), steps, trainer.tokensSeen(), loss, trainer.steps() / seconds),
                layerRows(collector, runId));
          }
        }
        trainedNanos = System.nanoTime() - started;
        JsonArray postReports = new JsonArray();
        if (!stages.isEmpty()) {
          postReports = postTrain(trainer, stages, console, collector, runId, out);
        }
        console.finish();
        training =
            new JsonObject()
                .put("steps", trainer.steps())
                .put("tokens", trainer.tokensSeen())
                .put("final_loss", DemoReport.finite(loss))
                .put("seconds", trainedNanos / 1e9)
                .put("steps_per_second", trainer.steps() / (trainedNanos / 1e9))
                .put("probe_every_steps", trainer.probeEverySteps())
                .put("probe_passes", trainer.probesRun())
                .put("probe_sequences", probeSequences)
                .put("probe_overhead_measured", DemoReport.finite(trainer.probeOverhead()))
                .put("probe_time_share", DemoReport.finite(trainer.probeTimeShare()))
                .put("dense_probe_until", denseProbeUntil)
                .put("dense_probe_every", denseProbeEvery)
                .put("probe_overhead_budget", probeBudget)
                .put("agent_failures", trainer.failures())
                .put("corpus", corpus == null ? "synthetic-zipf" : corpus.toString())
                .put("d_model", model.dModel())
                .put("vocab_size", model.vocabSize())
                .put("layers", model.layers())
                .put("post_training", postReports);
        agent.close(Duration.ofSeconds(30));
        training.put("agent", agent.summary());
      }
      awaitCollector(collector, runId, Duration.ofSeconds(60));

      DemoReport report = report(collector, runId, training);
      Files.createDirectories(reportDir);
      ReportFigure.write(reportDir, report);
      Files.writeString(
          reportDir.resolve("summary.json"),
          report.toJson().encodePrettily() + "\n",
          StandardCharsets.UTF_8);
      out.println(summaryText(report, reportDir));
      return 0;
    } finally {
      if (collector != null) {
        collector.close().await(30, TimeUnit.SECONDS);
      }
      if (vertx != null) {
        vertx.close().await(30, TimeUnit.SECONDS);
      }
      if (kafka != null) {
        kafka.close();
      }
    }
  }

  /**
   * Runs the post-training stages after pretraining; the terminal keeps showing the collector's
   * view while they run, since each stage trains on this thread.
   */
  private static JsonArray postTrain(
      DemoTraining trainer,
      List<Stage> stages,
      DemoConsole console,
      CollectorService collector,
      String runId,
      PrintStream out) {
    out.println("post-training: " + stages);
    JsonArray reports = new JsonArray();
    ScheduledExecutorService ticker =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "phasewatch-demo-ticker");
              t.setDaemon(true);
              return t;
            });
    try {
      ticker.scheduleAtFixedRate(
          () -> {
            List<DemoConsole.LayerRow> rows = layerRows(collector, runId);
            synchronized (console) {
              out.println(
                  DemoConsole.logLine(new DemoConsole.Progress(0, 0, 0, Double.NaN, 0), rows));
            }
          },
          5,
          5,
          TimeUnit.SECONDS);
      trainer.postTrain(
          stages,
          PostTrainingConfig.demoDefaults(),
          report -> {
            JsonObject json =
                new JsonObject()
                    .put("stage", report.stage().name().toLowerCase(java.util.Locale.ROOT))
                    .put("first_step", report.firstStep())
                    .put("last_step", report.lastStep())
                    .put("seconds", report.seconds())
                    .put("first_loss", DemoReport.finite(report.firstLoss()))
                    .put("last_loss", DemoReport.finite(report.lastLoss()))
                    .put("stage_metric", DemoReport.finite(report.lastStageMetric()));
            JsonObject before = new JsonObject();
            report.before().forEach((k, v) -> before.put(k, DemoReport.finite(v)));
            JsonObject after = new JsonObject();
            report.after().forEach((k, v) -> after.put(k, DemoReport.finite(v)));
            reports.add(json.put("before", before).put("after", after));
            synchronized (console) {
              out.printf(
                  java.util.Locale.ROOT,
                  "post-training %s: steps %d–%d in %.0f s, loss %.3f → %.3f%n",
                  json.getString("stage"),
                  report.firstStep(),
                  report.lastStep(),
                  report.seconds(),
                  report.firstLoss(),
                  report.lastLoss());
            }
          });
    } finally {
      ticker.shutdownNow();
    }
    return reports;
  }

  /** The table rows of the terminal view: the latest state of each layer of this run. */
  private static List<DemoConsole.LayerRow> layerRows(CollectorService collector, String runId) {
    Map<String, LayerState> layers = collector.state().latest().getOrDefault(runId, Map.of());
    List<PhaseTransition> events = collector.state().events();
    List<DemoConsole.LayerRow> rows = new ArrayList<>();
    for (LayerState s : layers.values()) {
      String last = "–";
      for (PhaseTransition t : events) {
        if (t.run().equals(runId) && t.layer().equals(s.layer())) {
          last = t.from().label() + " → " + t.to().label() + " @ " + t.step();
        }
      }
      rows.add(
          new DemoConsole.LayerRow(
              s.layer(),
              s.measures().effectiveRank(),
              s.measures().alpha(),
              s.phase().label(),
              last));
    }
    return rows;
  }

  /**
   * Waits until the collector has analysed every window the agent sent: each layer's latest step
   * stops moving and nothing is in flight.
   */
  private static void awaitCollector(CollectorService collector, String runId, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    Map<String, Long> previous = Map.of();
    int stableRounds = 0;
    while (System.nanoTime() < deadline && stableRounds < 3) {
      Thread.sleep(1000);
      Map<String, Long> now = new LinkedHashMap<>();
      collector
          .state()
          .latest()
          .getOrDefault(runId, Map.of())
          .forEach((layer, s) -> now.put(layer, s.step()));
      stableRounds =
          now.equals(previous) && !now.isEmpty() && collector.windowsInFlight() == 0
              ? stableRounds + 1
              : 0;
      previous = now;
    }
  }

  static DemoReport report(CollectorService collector, String runId, JsonObject training) {
    List<DemoReport.LayerSeries> series = new ArrayList<>();
    List<DemoReport.StageBoundary> stages = new ArrayList<>();
    Map<String, LayerState> latest = collector.state().latest().getOrDefault(runId, Map.of());
    String headline = latest.containsKey("final_norm") ? "final_norm" : null;
    for (String layer : latest.keySet()) {
      if (headline == null) {
        headline = layer;
      }
      Optional<List<LayerState>> states = collector.state().series(runId, layer);
      List<DemoReport.Point> points = new ArrayList<>();
      String stage = null;
      for (LayerState s : states.orElse(List.of())) {
        points.add(
            new DemoReport.Point(
                s.step(),
                s.measures().effectiveRank(),
                s.measures().alpha(),
                s.phase().label(),
                s.stage().label()));
        if (layer.equals(headline) && !s.stage().label().equals(stage)) {
          stage = s.stage().label();
          stages.add(new DemoReport.StageBoundary(stage, s.step()));
        }
      }
      series.add(new DemoReport.LayerSeries(layer, points));
    }
    List<DemoReport.Transition> transitions = new ArrayList<>();
    for (PhaseTransition t : collector.state().events()) {
      if (t.run().equals(runId)) {
        transitions.add(
            new DemoReport.Transition(
                t.layer(), t.stage().label(), t.from().label(), t.to().label(), t.step()));
      }
    }
    return new DemoReport(
        runId,
        headline == null ? "-" : headline,
        series,
        transitions,
        stages,
        training,
        collector.state().trainingSeries(runId));
  }

  private static String summaryText(DemoReport report, Path dir) {
    StringBuilder s = new StringBuilder();
    s.append("\nrun ").append(report.run()).append(": ");
    JsonObject t = report.training();
    s.append(
        String.format(
            java.util.Locale.ROOT,
            "%d steps in %.0f s, final loss %.3f, probes took %.1f%% of the time"
                + " (%.1f%% at the steady cadence; budget %.0f%%)%n",
            t.getLong("steps"),
            t.getDouble("seconds"),
            t.getDouble("final_loss", Double.NaN),
            100 * t.getDouble("probe_time_share", Double.NaN),
            100 * t.getDouble("probe_overhead_measured", Double.NaN),
            100 * t.getDouble("probe_overhead_budget")));
    s.append("phase transitions detected by the collector:\n");
    if (report.transitions().isEmpty()) {
      s.append("  (none)\n");
    }
    for (DemoReport.Transition tr : report.transitions()) {
      s.append("  step ")
          .append(tr.step())
          .append("  ")
          .append(tr.layer())
          .append(": ")
          .append(tr.from())
          .append(" → ")
          .append(tr.to())
          .append('\n');
    }
    boolean compression =
        report.transitions().stream().anyMatch(tr -> tr.to().equals("compression_seeking"));
    if (!compression) {
      s.append(
          "compression-seeking: not reached in this run (small models need far more tokens;"
              + " see docs/demo-science.md)\n");
    }
    s.append("report: ")
        .append(dir.resolve("figure.png"))
        .append(", ")
        .append(dir.resolve("figure.svg"))
        .append(", ")
        .append(dir.resolve("summary.json"));
    return s.toString();
  }

  /** The broker, the Kafka clients and DJL log at INFO through JUL; the demo has its own view. */
  private static void quietLibraries() {
    for (String name :
        List.of("org.apache.kafka", "kafka", "state.change.logger", "ai.djl", "io.netty")) {
      Logger logger = Logger.getLogger(name);
      logger.setLevel(Level.WARNING);
      // JUL holds loggers weakly: a collected logger forgets its level.
      QUIETED.add(logger);
    }
  }

  private static final List<Logger> QUIETED = new ArrayList<>();
}
