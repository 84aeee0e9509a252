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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.jline.terminal.TerminalBuilder;
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

  /** Named training scalars the modular task publishes with each probe window. */
  static final String TRAIN_ACCURACY = "train_accuracy";

  static final String HELD_OUT_ACCURACY = "held_out_accuracy";

  /** What the demo trains: the two workloads of docs/demo-science.md. */
  enum Task {
    /** The small language model on a Zipf corpus (or --corpus): warmup, then entropy-seeking. */
    LANGUAGE,
    /** a + b mod p, the grokking setting: memorisation, then compression with generalisation. */
    MODULAR;
  }

  @Option(
      names = "--task",
      description =
          "What to train: modular (a + b mod p: entropy-seeking while it memorises, then"
              + " compression-seeking while held-out accuracy jumps) or language (the small"
              + " language model: warmup collapse, then entropy-seeking). Default: ${DEFAULT-VALUE}.",
      converter = TaskConverter.class)
  Task task = Task.MODULAR;

  @Option(names = "--steps", description = "Training steps (default: ${DEFAULT-VALUE}).")
  int steps = 1500;

  @Option(names = "--modulus", description = "p of the modular task (default: ${DEFAULT-VALUE}).")
  int modulus = 59;

  @Option(
      names = "--train-fraction",
      description =
          "Share of the p² pairs the modular task trains on; the rest is held out"
              + " (default: ${DEFAULT-VALUE}).")
  double trainFraction = 0.5;

  @Option(
      names = "--operand-skew",
      description =
          "Zipf exponent of the first operand's frequency in modular training batches"
              + " (default: ${DEFAULT-VALUE}: uniform).")
  double operandSkew = 0;

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

  @Option(
      names = "--kafka-only",
      paramLabel = "PORT",
      description =
          "Start only the in-process Kafka broker, on 127.0.0.1:PORT, and keep it running until"
              + " stopped: a broker for trying phasewatch with your own trainer (docs/walkthrough.md).")
  Integer kafkaOnly;

  @Option(names = "--headless", description = "Plain log lines instead of the live terminal view.")
  boolean headless;

  @Option(
      names = "--probe-every",
      description = "Probe the tapped layers every K steps (default: ${DEFAULT-VALUE}).")
  int probeEvery = 50;

  @Option(
      names = "--probe-sequences",
      description =
          "Sequences (or pairs) in the fixed probe set (default: 1024 for modular, 256 for"
              + " language).")
  Integer probeSequences;

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

  @Option(
      names = "--stage-probe-every",
      description =
          "Probe cadence of each post-training stage, which the detector reads on its own"
              + " log-step axis: every step from the stage's first up to the first multiple of"
              + " this, then every this many steps (default: ${DEFAULT-VALUE}; 0: the pretraining"
              + " cadence).")
  int stageProbeEvery = 10;

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
    if (kafkaOnly != null) {
      return kafkaOnly(kafkaOnly);
    }
    boolean modular = task == Task.MODULAR;
    int totalSteps = steps;
    int probeN = probeSequences != null ? probeSequences : modular ? 1024 : 256;
    if (totalSteps < 1) {
      throw new IllegalArgumentException("demo: --steps must be ≥ 1, got " + totalSteps);
    }
    if (modular && corpus != null) {
      throw new IllegalArgumentException("demo: --corpus needs --task language");
    }
    if (modular && postTraining != null && !postTraining.isBlank()) {
      throw new IllegalArgumentException(
          "demo: --post-training needs --task language (its stages are text tasks)");
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
      ModelConfig base =
          modular ? ModelConfig.modularDefaults(modulus) : ModelConfig.demoDefaults();
      ModelConfig model =
          base.withSchedule(
              base.learningRate(),
              base.warmupSteps(),
              base.schedule(),
              Math.max(totalSteps, base.warmupSteps() + 1));
      DemoTraining.Workload workload =
          modular
              ? new DemoTraining.Workload.Modular(modulus, trainFraction, operandSkew)
              : new DemoTraining.Workload.Language(corpus);
      DemoTraining.Settings settings =
          new DemoTraining.Settings(
              model,
              workload,
              layers,
              probeEvery,
              probeN,
              probeBudget,
              denseProbeUntil,
              denseProbeEvery);
      long started = System.nanoTime();
      long trainedNanos;
      JsonObject training;
      List<DemoTraining.Accuracy> accuracy = new ArrayList<>();
      DemoConsole console =
          !headless && System.console() != null
              ? DemoConsole.interactive(TerminalBuilder.builder().system(true).build())
              : DemoConsole.headless(out);
      DemoConsole.Progress lastProgress = null;
      try (PhasewatchAgent agent =
              PhasewatchAgent.builder(AgentConfigLoader.load("", Map.of(), agentFlags)).start();
          DemoTraining trainer = DemoTraining.start(settings, agent)) {
        console.log(
            "training "
                + (modular ? "a + b mod " + modulus + ", " : "the language model, ")
                + totalSteps
                + " steps, probing "
                + trainer.tappedLayers());
        double loss = Double.NaN;
        long lastDraw = 0;
        Optional<DemoTraining.Accuracy> latestAccuracy = Optional.empty();
        long probesSeen = 0;
        for (int i = 0; i < totalSteps; i++) {
          loss = trainer.step();
          // Accuracy at every probe step, so each window's geometry has its accuracy beside it:
          // two forward passes over the p² pairs of 3 tokens, about one training step's time.
          if (modular && (trainer.probesRun() != probesSeen || i == totalSteps - 1)) {
            probesSeen = trainer.probesRun();
            latestAccuracy = trainer.accuracy();
            latestAccuracy.ifPresent(
                a -> {
                  accuracy.add(a);
                  // After the probe pass, so the window of that pass carries them (probe mode).
                  agent.recordScalar(TRAIN_ACCURACY, a.train());
                  agent.recordScalar(HELD_OUT_ACCURACY, a.heldOut());
                });
          }
          long now = System.nanoTime();
          if (now - lastDraw > (headless ? 5_000_000_000L : 500_000_000L) || i == totalSteps - 1) {
            lastDraw = now;
            double seconds = (now - started) / 1e9;
            lastProgress =
                new DemoConsole.Progress(
                    trainer.steps(),
                    totalSteps,
                    trainer.tokensSeen(),
                    loss,
                    trainer.steps() / seconds,
                    latestAccuracy.map(DemoTraining.Accuracy::train).orElse(Double.NaN),
                    latestAccuracy.map(DemoTraining.Accuracy::heldOut).orElse(Double.NaN));
            console.update(lastProgress, layerRows(collector, runId));
          }
        }
        trainedNanos = System.nanoTime() - started;
        JsonArray postReports = new JsonArray();
        if (!stages.isEmpty()) {
          postReports = postTrain(trainer, stages, stageProbeEvery, console, collector, runId);
        }
        training =
            new JsonObject()
                .put("steps", trainer.steps())
                .put("tokens", trainer.tokensSeen())
                .put("final_loss", io.phasewatch.collector.json.MeasuresJson.finite(loss))
                .put("seconds", trainedNanos / 1e9)
                .put("steps_per_second", trainer.steps() / (trainedNanos / 1e9))
                .put("probe_every_steps", trainer.probeEverySteps())
                .put("probe_passes", trainer.probesRun())
                .put("probe_sequences", probeN)
                .put(
                    "probe_overhead_measured",
                    io.phasewatch.collector.json.MeasuresJson.finite(trainer.probeOverhead()))
                .put(
                    "probe_time_share",
                    io.phasewatch.collector.json.MeasuresJson.finite(trainer.probeTimeShare()))
                .put("dense_probe_until", denseProbeUntil)
                .put("dense_probe_every", denseProbeEvery)
                .put("probe_overhead_budget", probeBudget)
                .put("agent_failures", trainer.failures())
                .put("task", modular ? "modular" : "language")
                .put(
                    "corpus",
                    modular ? null : corpus == null ? "synthetic-zipf" : corpus.toString())
                .put("modulus", modular ? modulus : null)
                .put("train_fraction", modular ? trainFraction : null)
                .put("operand_skew", modular ? operandSkew : null)
                .put("accuracy", accuracyJson(accuracy))
                .put("d_model", model.dModel())
                .put("vocab_size", model.vocabSize())
                .put("layers", model.layers())
                .put("post_training", postReports);
        agent.close(Duration.ofSeconds(30));
        training.put("agent", agent.summary());
      }
      awaitCollector(collector, runId, Duration.ofSeconds(60));
      // The last frame shows the windows the collector analysed after training ended, not the ones
      // it had when the last step ran.
      if (lastProgress != null) {
        console.update(lastProgress, layerRows(collector, runId));
      }
      console.close();

      DemoReport report = report(collector, runId, training);
      Files.createDirectories(reportDir);
      ReportFigure.write(reportDir, report);
      Files.writeString(
          reportDir.resolve("summary.json"),
          report.toJson().encodePrettily() + "\n",
          StandardCharsets.UTF_8);
      Files.writeString(
          reportDir.resolve("series.csv"), report.seriesCsv(), StandardCharsets.UTF_8);
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
      int stageProbeEvery,
      DemoConsole console,
      CollectorService collector,
      String runId) {
    console.log("post-training: " + stages);
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
            console.log("post-training" + DemoConsole.layersText(layerRows(collector, runId)));
          },
          5,
          5,
          TimeUnit.SECONDS);
      trainer.postTrain(
          stages,
          PostTrainingConfig.demoDefaults(),
          stageProbeEvery,
          report -> {
            JsonObject json =
                new JsonObject()
                    .put("stage", report.stage().name().toLowerCase(java.util.Locale.ROOT))
                    .put("first_step", report.firstStep())
                    .put("last_step", report.lastStep())
                    .put("seconds", report.seconds())
                    .put(
                        "first_loss",
                        io.phasewatch.collector.json.MeasuresJson.finite(report.firstLoss()))
                    .put(
                        "last_loss",
                        io.phasewatch.collector.json.MeasuresJson.finite(report.lastLoss()))
                    .put(
                        "stage_metric",
                        io.phasewatch.collector.json.MeasuresJson.finite(report.lastStageMetric()));
            JsonObject before = new JsonObject();
            report
                .before()
                .forEach(
                    (k, v) -> before.put(k, io.phasewatch.collector.json.MeasuresJson.finite(v)));
            JsonObject after = new JsonObject();
            report
                .after()
                .forEach(
                    (k, v) -> after.put(k, io.phasewatch.collector.json.MeasuresJson.finite(v)));
            reports.add(json.put("before", before).put("after", after));
            console.log(
                String.format(
                    java.util.Locale.ROOT,
                    "post-training %s: steps %d–%d in %.0f s, loss %.3f → %.3f",
                    json.getString("stage"),
                    report.firstStep(),
                    report.lastStep(),
                    report.seconds(),
                    report.firstLoss(),
                    report.lastLoss()));
          });
    } finally {
      ticker.shutdownNow();
    }
    return reports;
  }

  /**
   * The generalisation the geometry goes with: final accuracies and the first step held-out
   * accuracy reached 0.9 (empty for the language model).
   */
  static String accuracyText(JsonArray points) {
    if (points == null || points.isEmpty()) {
      return "";
    }
    JsonObject last = points.getJsonObject(points.size() - 1);
    Long reached = null;
    for (int i = 0; i < points.size() && reached == null; i++) {
      Double heldOut = points.getJsonObject(i).getDouble("held_out");
      if (heldOut != null && heldOut >= 0.9) {
        reached = points.getJsonObject(i).getLong("step");
      }
    }
    return String.format(
        java.util.Locale.ROOT,
        "accuracy at step %d: train %.3f, held-out %.3f; held-out accuracy %s%n",
        last.getLong("step"),
        last.getDouble("train", Double.NaN),
        last.getDouble("held_out", Double.NaN),
        reached == null ? "stayed below 0.9" : "reached 0.9 at step " + reached);
  }

  private static JsonArray accuracyJson(List<DemoTraining.Accuracy> accuracy) {
    JsonArray points = new JsonArray();
    for (DemoTraining.Accuracy a : accuracy) {
      points.add(
          new JsonObject()
              .put("step", a.step())
              .put("train", io.phasewatch.collector.json.MeasuresJson.finite(a.train()))
              .put("held_out", io.phasewatch.collector.json.MeasuresJson.finite(a.heldOut())));
    }
    return points;
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

  /** A broker and nothing else, until the process is stopped; not for production use. */
  private static int kafkaOnly(int port) throws Exception {
    if (port < 1 || port > 65_535) {
      throw new IllegalArgumentException("demo: --kafka-only " + port + " is not a port");
    }
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    EmbeddedKafka kafka = EmbeddedKafka.start(port);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  kafka.close();
                  stopped.countDown();
                },
                "phasewatch-kafka-shutdown"));
    out.println(
        "kafka at "
            + kafka.bootstrapServers()
            + " (in-process KRaft broker, one node, data in a temporary folder; Ctrl-C stops it)");
    stopped.await();
    return 0;
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
    // Pretraining's compression is the headline; a post-training stage's own (DPO compresses the
    // language model's final norm) is reported per stage below.
    boolean compression =
        report.transitions().stream()
            .anyMatch(tr -> tr.to().equals("compression_seeking") && tr.stage().equals("pretrain"));
    if (!compression) {
      s.append(
          "language".equals(t.getString("task"))
              ? "compression-seeking: not reached in pretraining (small language models need far"
                  + " more tokens; see docs/demo-science.md)\n"
              : "compression-seeking: not detected in pretraining\n");
    }
    s.append(accuracyText(t.getJsonArray("accuracy")));
    for (DemoReport.StageFinding f : report.stageFindings()) {
      s.append(
          String.format(
              java.util.Locale.ROOT,
              "%s on %s: %d windows, RankMe %.1f → %.1f, α %.2f → %.2f, labelled %s;"
                  + " the study predicts %s: %s%n",
              f.stage(),
              f.layer(),
              f.windows(),
              f.rankFirst(),
              f.rankLast(),
              f.alphaFirst(),
              f.alphaLast(),
              f.label(),
              f.predicted(),
              f.verdict()));
    }
    s.append("report: ")
        .append(dir.resolve("figure.png"))
        .append(", ")
        .append(dir.resolve("figure.svg"))
        .append(", ")
        .append(dir.resolve("summary.json"))
        .append(", ")
        .append(dir.resolve("series.csv"));
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

  /** Accepts the task names in any case, as the help text writes them (lower case). */
  static final class TaskConverter implements picocli.CommandLine.ITypeConverter<Task> {
    @Override
    public Task convert(String value) {
      for (Task t : Task.values()) {
        if (t.name().equalsIgnoreCase(value.trim())) {
          return t;
        }
      }
      throw new picocli.CommandLine.TypeConversionException(
          "'" + value + "' is not a task; choose modular or language");
    }
  }
}
