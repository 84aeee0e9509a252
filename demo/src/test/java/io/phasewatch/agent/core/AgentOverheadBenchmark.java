package io.phasewatch.agent.core;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.phasewatch.agent.capture.CaptureSink;
import io.phasewatch.agent.config.AgentConfig;
import io.phasewatch.agent.config.AgentConfigLoader;
import io.phasewatch.agent.djl.LayerTaps;
import io.phasewatch.agent.djl.LayerTaps.RowChoice;
import io.phasewatch.agent.djl.LayerTaps.Tap;
import io.phasewatch.agent.djl.PhasewatchTrainingListener;
import io.phasewatch.agent.djl.ProbeSet;
import io.phasewatch.core.wire.Stage;
import io.phasewatch.demo.training.LanguageModelTraining;
import io.phasewatch.demo.training.ModelConfig;
import io.phasewatch.demo.training.SyntheticCorpus;
import io.phasewatch.demo.training.TinyLanguageModel;
import io.phasewatch.testkit.KafkaBroker;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Step time of the small model without the agent (twice: the A/A noise floor), with the DJL taps
 * and listener feeding a no-op sink, with the agent in live mode and in probe mode, and with the
 * listener plus a second evaluation of the loss (what the listener did before the training loop
 * handed the loss over), in one process, on one thread, alternating blocks of steps so that drift
 * of the machine hits the arms alike. The agents publish to a real in-process KRaft broker.
 *
 * <p>Run: the commands in docs/benchmarks.md ("Agent overhead"); arguments: steps per arm, steps
 * per block.
 *
 * <p>Wider models: {@code -Dbench.d=4096 -Dbench.heads=32 -Dbench.layers=1 -Dbench.context=16
 * -Dbench.batch=4 -Dbench.vocab=256} shape the model (the demo's defaults otherwise), {@code
 * -Dbench.worldSize=8} is the agents' {@code world-size} (the default summary of a layer depends on
 * it), {@code -Dbench.warmup=20} the warm-up steps per arm. {@code -Dbench.arms=same} runs only the
 * pair that needs one model instance — the same model and trainer with the live agent off and on —
 * where seven instances of a wide model do not fit in memory.
 */
public final class AgentOverheadBenchmark {
  private AgentOverheadBenchmark() {}

  /** Adds up the time the training thread spends inside the agent's calls. */
  private static final class Timed implements CaptureSink {
    final CaptureSink inner;
    long nanos;
    long calls;
    final List<Long> rowCalls = new java.util.ArrayList<>();
    final List<Long> stepCalls = new java.util.ArrayList<>();

    Timed(CaptureSink inner) {
      this.inner = inner;
    }

    @Override
    public void rows(String layer, long step, float[] rows, int rowCount, int dim) {
      long t0 = System.nanoTime();
      inner.rows(layer, step, rows, rowCount, dim);
      long t = System.nanoTime() - t0;
      nanos += t;
      calls++;
      rowCalls.add(t);
    }

    @Override
    public void stepEnded(long step, long tokensSeen, double loss) {
      long t0 = System.nanoTime();
      inner.stepEnded(step, tokensSeen, loss);
      long t = System.nanoTime() - t0;
      nanos += t;
      calls++;
      stepCalls.add(t);
    }

    @Override
    public void stageChanged(Stage stage, long step) {
      inner.stageChanged(stage, step);
    }
  }

  /** Takes the rows and does nothing: the DJL side's own cost, without the agent. */
  private static final class NoOp implements CaptureSink {
    @Override
    public void rows(String layer, long step, float[] rows, int rowCount, int dim) {}

    @Override
    public void stepEnded(long step, long tokensSeen, double loss) {}

    @Override
    public void stageChanged(Stage stage, long step) {}
  }

  /**
   * Evaluates the trainer's loss on the batch a second time, as the listener did before the loop
   * handed it over: measures what that cost the training thread.
   */
  private static final class LossAgain extends ai.djl.training.listener.TrainingListenerAdapter {
    final List<Long> cpuNanos = new java.util.ArrayList<>();
    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();

    @Override
    public void onTrainingBatch(ai.djl.training.Trainer trainer, BatchData batchData) {
      long c0 = threads.getCurrentThreadCpuTime();
      var labels = batchData.getLabels().entrySet().iterator().next();
      var predictions = batchData.getPredictions().get(labels.getKey());
      trainer.getLoss().evaluate(labels.getValue(), predictions).getFloat();
      cpuNanos.add(threads.getCurrentThreadCpuTime() - c0);
    }
  }

  /**
   * Hands the batches to the listener only while on: one model and trainer that runs some blocks
   * with the live agent and some without, so the comparison is free of what tells two model
   * instances apart (where libtorch placed their tensors). Off, the taps stay unarmed, so the
   * wrappers cost one branch per forward.
   */
  private static final class Toggle extends ai.djl.training.listener.TrainingListenerAdapter {
    final PhasewatchTrainingListener inner;
    boolean on;

    Toggle(PhasewatchTrainingListener inner) {
      this.inner = inner;
    }

    @Override
    public void onTrainingBegin(ai.djl.training.Trainer trainer) {
      inner.onTrainingBegin(trainer);
    }

    @Override
    public void onTrainingBatch(ai.djl.training.Trainer trainer, BatchData batchData) {
      if (on) {
        inner.onTrainingBatch(trainer, batchData);
      }
    }
  }

  private static List<Tap> liveTaps(AgentConfig live) {
    return List.of(
        Tap.live(
            "layers.*.out",
            live.sampling().everySteps(),
            live.sampling().rowsPerStep(),
            RowChoice.RANDOM_TOKENS),
        Tap.live(
            "final_norm",
            live.sampling().everySteps(),
            live.sampling().rowsPerStep(),
            RowChoice.RANDOM_TOKENS));
  }

  private static double mean(double[] v) {
    return Arrays.stream(v).average().orElse(Double.NaN);
  }

  /**
   * Per-block ratios a/b − 1: mean ± 95 % CI (normal); median with its distribution-free 95 % CI
   * (order statistics of the binomial, normal approximation); and the ratio of the means. The block
   * ratios of a shared machine are heavy-tailed (a block that shared its core with a build), so the
   * median says what a typical step pays; the mean includes rare costs such as the probe pass.
   */
  private static String compare(double[] a, double[] b) {
    int n = a.length;
    double[] ratios = new double[n];
    for (int r = 0; r < n; r++) {
      ratios[r] = a[r] / b[r] - 1;
    }
    double m = mean(ratios);
    double sd = Math.sqrt(Arrays.stream(ratios).map(x -> (x - m) * (x - m)).sum() / (n - 1));
    double[] sorted = ratios.clone();
    Arrays.sort(sorted);
    double half = 1.96 * Math.sqrt(n) / 2;
    int lo = Math.max(0, (int) Math.floor(n / 2.0 - half) - 1);
    int hi = Math.min(n - 1, (int) Math.ceil(n / 2.0 + half) - 1);
    return String.format(
        Locale.ROOT,
        "%+.2f %% ± %.2f %% (mean of block ratios, 95 %% CI), median %+.2f %% [%+.2f %%, %+.2f %%],"
            + " ratio of means %+.2f %%",
        100 * m,
        100 * 1.96 * sd / Math.sqrt(n),
        100 * sorted[n / 2],
        100 * sorted[lo],
        100 * sorted[hi],
        100 * (mean(a) / mean(b) - 1));
  }

  /** CPU time of one agent's threads (its Kafka client id is {@code phasewatch-<name>}). */
  private static long agentThreadsCpu(ThreadMXBean threads, String name) {
    long total = 0;
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      String n = t.getName();
      if (n.equals("phasewatch-sketch-bench-" + name)
          || n.equals("phasewatch-publisher-phasewatch-" + name)
          || n.endsWith("| phasewatch-" + name)) {
        total += Math.max(0, threads.getThreadCpuTime(t.getId()));
      }
    }
    return total;
  }

  private static String quantiles(List<Long> nanos) {
    if (nanos.isEmpty()) {
      return "none";
    }
    long[] v = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
    return String.format(
        Locale.ROOT,
        "median %.1f µs, p99 %.1f µs, max %.1f µs (%d calls)",
        v[v.length / 2] / 1e3,
        v[(int) Math.min(v.length - 1, Math.round(0.99 * (v.length - 1)))] / 1e3,
        v[v.length - 1] / 1e3,
        v.length);
  }

  /** The demo's model, or the shape the {@code bench.*} properties give. */
  private static ModelConfig modelConfig() {
    ModelConfig demo = ModelConfig.demoDefaults();
    return demo.withVocabSize(Integer.getInteger("bench.vocab", demo.vocabSize()))
        .withDModel(
            Integer.getInteger("bench.d", demo.dModel()),
            Integer.getInteger("bench.heads", demo.heads()))
        .withLayers(Integer.getInteger("bench.layers", demo.layers()))
        .withShape(
            Integer.getInteger("bench.context", demo.contextLength()),
            Integer.getInteger("bench.batch", demo.batchSize()));
  }

  /**
   * An agent named {@code bench-<name>} (Kafka client {@code phasewatch-<name>}) in {@code mode}.
   */
  private static AgentConfig agentConfig(
      String name, String mode, String world, Map<String, String> kafka) {
    return AgentConfigLoader.load(
        "run: bench-"
            + name
            + "\nsampling: {mode: "
            + mode
            + "}\nkafka: {client.id: phasewatch-"
            + name
            + "}\n"
            + world,
        Map.of(),
        kafka);
  }

  /** The run's shape, the machine's load, and the step time of the arm without the agent. */
  private static void printRun(
      ModelConfig model, AgentConfig live, long steps, int block, double wallMs, double cpuMs) {
    System.out.printf(
        Locale.ROOT,
        "model d=%d layers=%d heads=%d ctx=%d batch=%d vocab=%d; agent world-size %d, live every"
            + " %d steps, %d rows per tapped layer; %d steps per arm in blocks of %d; load average"
            + " %.1f on %d cores%n",
        model.dModel(),
        model.layers(),
        model.heads(),
        model.contextLength(),
        model.batchSize(),
        model.vocabSize(),
        live.worldSize(),
        live.sampling().everySteps(),
        live.sampling().rowsPerStep(),
        steps,
        block,
        ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(),
        Runtime.getRuntime().availableProcessors());
    System.out.printf(
        Locale.ROOT,
        "step without the agent (off): %.1f ms wall, %.1f ms CPU of the training thread%n",
        wallMs,
        cpuMs);
  }

  public static void main(String[] args) throws Exception {
    int stepsPerArm = args.length > 0 ? Integer.parseInt(args[0]) : 300;
    int block = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    ModelConfig modelConfig = modelConfig();
    int d = modelConfig.dModel();
    int worldSize = Integer.getInteger("bench.worldSize", 1);
    int warmup = Integer.getInteger("bench.warmup", 20);
    String world = "world-size: " + worldSize + "\n";
    try (KafkaBroker broker = KafkaBroker.start()) {
      Map<String, String> kafka = Map.of("kafka.bootstrap.servers", broker.bootstrapServers());
      if ("same".equals(System.getProperty("bench.arms", "all"))) {
        sameModelOnly(modelConfig, world, kafka, stepsPerArm, block, warmup);
        heap(modelConfig, world);
        return;
      }

      // Live at the defaults: every 10 steps, 64 rows per tapped layer, windows of 100 steps.
      AgentConfig live = agentConfig("live", "live", world, kafka);
      AgentConfig probe = agentConfig("probe", "probe", world, kafka);
      var liveRegistry = new SimpleMeterRegistry();
      var probeRegistry = new SimpleMeterRegistry();
      PhasewatchAgent liveAgent = PhasewatchAgent.start(live, liveRegistry);
      AgentConfig same = agentConfig("same", "live", world, kafka);
      PhasewatchAgent sameAgent = PhasewatchAgent.start(same, new SimpleMeterRegistry());
      Timed liveSink = new Timed(liveAgent);
      PhasewatchAgent probeAgent = PhasewatchAgent.start(probe, probeRegistry);

      var corpus = SyntheticCorpus.skewed(modelConfig.vocabSize(), 1);
      TinyLanguageModel bare = TinyLanguageModel.create(modelConfig);
      TinyLanguageModel bare2 = TinyLanguageModel.create(modelConfig);
      LayerTaps noOpTaps = LayerTaps.of(new NoOp(), 2, liveTaps(live));
      TinyLanguageModel noOpModel = TinyLanguageModel.create(modelConfig, noOpTaps);
      var noOpListener = PhasewatchTrainingListener.builder(new NoOp()).taps(noOpTaps).build();
      LayerTaps oldTaps = LayerTaps.of(new NoOp(), 2, liveTaps(live));
      TinyLanguageModel oldModel = TinyLanguageModel.create(modelConfig, oldTaps);
      var oldListener = PhasewatchTrainingListener.builder(new NoOp()).taps(oldTaps).build();
      LossAgain lossAgain = new LossAgain();
      LayerTaps sameTaps = LayerTaps.of(sameAgent, 2, liveTaps(same));
      TinyLanguageModel sameModel = TinyLanguageModel.create(modelConfig, sameTaps);
      // Blocks of 5 steps and a cadence of 10: the listener never arms a tap at the end of a block,
      // so an "off" block never samples.
      Toggle toggle =
          new Toggle(PhasewatchTrainingListener.builder(sameAgent).taps(sameTaps).build());
      LayerTaps liveTaps = LayerTaps.of(liveSink, 2, liveTaps(live));
      TinyLanguageModel liveModel = TinyLanguageModel.create(modelConfig, liveTaps);
      LayerTaps probeTaps =
          LayerTaps.of(
              probeAgent,
              3,
              List.of(
                  Tap.probe("layers.*.out", probe.sampling().everySteps()),
                  Tap.probe("final_norm", probe.sampling().everySteps())));
      TinyLanguageModel probeModel = TinyLanguageModel.create(modelConfig, probeTaps);
      ProbeSet probeSet =
          ProbeSet.fromCorpus(
              corpus, probe.sampling().probeSequences(), 8, modelConfig.contextLength(), 4);
      var probeListener =
          PhasewatchTrainingListener.builder(probeAgent)
              .taps(probeTaps)
              .probe(probeModel, probeSet)
              .overheadBudget(probe.sampling().probeBudget())
              .build();
      var liveListener = PhasewatchTrainingListener.builder(liveSink).taps(liveTaps).build();

      try (var a = LanguageModelTraining.start(bare, corpus);
          var a2 = LanguageModelTraining.start(bare2, corpus);
          var n = LanguageModelTraining.start(noOpModel, corpus, noOpListener);
          var l = LanguageModelTraining.start(liveModel, corpus, liveListener);
          var p = LanguageModelTraining.start(probeModel, corpus, probeListener);
          var o = LanguageModelTraining.start(oldModel, corpus, oldListener, lossAgain);
          var t = LanguageModelTraining.start(sameModel, corpus, toggle)) {
        LanguageModelTraining[] arms = {a, a2, n, l, p, o, t, t};
        boolean[] toggleOn = {false, false, false, false, false, false, false, true};
        String[] names = {
          "no agent",
          "no agent, again (A/A)",
          "DJL taps + listener, no-op sink",
          "live agent",
          "probe agent",
          "DJL taps + listener + loss evaluated again, no-op sink",
          "one model, live agent off",
          "the same model, live agent on"
        };
        int nArms = arms.length;
        // Warm-up: JIT, allocator, first probe pass.
        for (int i = 0; i < arms.length; i++) {
          toggle.on = toggleOn[i];
          arms[i].train(warmup);
        }
        liveSink.nanos = 0;
        liveSink.calls = 0;
        liveSink.rowCalls.clear();
        liveSink.stepCalls.clear();
        lossAgain.cpuNanos.clear();
        long liveSketchBefore =
            (long)
                liveRegistry.timer("phasewatch.agent.sketch.time").totalTime(TimeUnit.NANOSECONDS);
        long probesBefore = probeListener.probesRun();
        int rounds = stepsPerArm / block;
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        double[][] wall = new double[nArms][rounds];
        double[][] cpu = new double[nArms][rounds];
        long liveThreadsBefore = agentThreadsCpu(threads, "live");
        long probeThreadsBefore = agentThreadsCpu(threads, "probe");
        for (int r = 0; r < rounds; r++) {
          for (int i = 0; i < nArms; i++) {
            int arm = (i + r) % nArms; // rotate the order so no arm always runs first
            toggle.on = toggleOn[arm];
            long c0 = threads.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            for (int s = 0; s < block; s++) {
              arms[arm].step();
            }
            wall[arm][r] = (System.nanoTime() - t0) / 1e6 / block;
            cpu[arm][r] = (threads.getCurrentThreadCpuTime() - c0) / 1e6 / block;
          }
        }
        long steps = (long) rounds * block;
        double liveThreadsMs = (agentThreadsCpu(threads, "live") - liveThreadsBefore) / 1e6 / steps;
        double probeThreadsMs =
            (agentThreadsCpu(threads, "probe") - probeThreadsBefore) / 1e6 / steps;
        printRun(modelConfig, live, steps, block, mean(wall[0]), mean(cpu[0]));
        int[][] pairs = {{1, 0}, {2, 0}, {3, 0}, {4, 0}, {3, 2}, {5, 0}, {5, 2}, {7, 6}, {6, 0}};
        for (int[] pair : pairs) {
          System.out.printf(
              Locale.ROOT,
              "%s vs %s: training-thread CPU %s; wall %s%n",
              names[pair[0]],
              names[pair[1]],
              compare(cpu[pair[0]], cpu[pair[1]]),
              compare(wall[pair[0]], wall[pair[1]]));
        }
        double timedWallMs = 0;
        for (double[] arm : wall) {
          timedWallMs += Arrays.stream(arm).sum() * block;
        }
        // The agents' threads run during every arm's blocks, so they are charged to the whole
        // timed run: a share of one core, and per step of their own arm as an upper bound.
        System.out.printf(
            Locale.ROOT,
            "agent threads (sketch, publisher, Kafka producer) CPU over the %.0f s timed run: live"
                + " %.0f ms = %.2f %% of one core, probe %.0f ms = %.2f %% of one core; per step of"
                + " its own arm at most %.2f ms (live) and %.2f ms (probe)%n",
            timedWallMs / 1e3,
            liveThreadsMs * steps,
            100 * liveThreadsMs * steps / timedWallMs,
            probeThreadsMs * steps,
            100 * probeThreadsMs * steps / timedWallMs,
            liveThreadsMs,
            probeThreadsMs);
        double liveStepNanos = mean(wall[3]) * 1e6;
        System.out.printf(
            Locale.ROOT,
            "live: training thread inside the agent's calls %.1f µs per step = %.3f %% of the step"
                + " (wall, %d calls)%n",
            liveSink.nanos / 1e3 / steps,
            100 * liveSink.nanos / (steps * liveStepNanos),
            liveSink.calls);
        System.out.println("live agent rows(): " + quantiles(liveSink.rowCalls));
        System.out.println("live agent stepEnded(): " + quantiles(liveSink.stepCalls));
        System.out.printf(
            Locale.ROOT,
            "loss evaluated again (training-thread CPU): %s; mean %.2f %% of a step without"
                + " agent%n",
            quantiles(lossAgain.cpuNanos),
            100
                * lossAgain.cpuNanos.stream().mapToLong(Long::longValue).average().orElse(0)
                / 1e6
                / mean(cpu[0]));
        System.out.printf(
            Locale.ROOT,
            "probe: measured by the listener %.2f %% of step time (budget %.1f %%), cadence every"
                + " %d steps, %d probes run%n",
            100 * probeListener.probeOverhead(),
            100 * probe.sampling().probeBudget(),
            probeListener.probeEverySteps(),
            probeListener.probesRun());
        long timedProbes = probeListener.probesRun() - probesBefore;
        System.out.printf(
            Locale.ROOT,
            "probe: %d passes in the timed %d steps; the probe arm's extra training-thread CPU over"
                + " the no-agent arm, %.0f ms in all, is %.0f ms per pass; share of the listener's"
                + " wall time in probe passes since its first batch (warm-up included) %.2f %%%n",
            timedProbes,
            steps,
            (mean(cpu[4]) - mean(cpu[0])) * steps,
            timedProbes == 0 ? Double.NaN : (mean(cpu[4]) - mean(cpu[0])) * steps / timedProbes,
            100 * probeListener.probeTimeShare());
      }
      liveAgent.close(Duration.ofSeconds(30));
      sameAgent.close(Duration.ofSeconds(30));
      probeAgent.close(Duration.ofSeconds(30));
      System.out.println(liveAgent.summary());
      System.out.println(probeAgent.summary());
      heap(modelConfig, world);
    }
  }

  /**
   * One model and trainer, live agent off and on in alternating blocks (the order rotating every
   * round): the comparison of the full run's arms 7 and 8, which needs one model instance only.
   */
  private static void sameModelOnly(
      ModelConfig modelConfig,
      String world,
      Map<String, String> kafka,
      int stepsPerArm,
      int block,
      int warmup)
      throws Exception {
    AgentConfig same = agentConfig("same", "live", world, kafka);
    var registry = new SimpleMeterRegistry();
    PhasewatchAgent sameAgent = PhasewatchAgent.start(same, registry);
    Timed sink = new Timed(sameAgent);
    var corpus = SyntheticCorpus.skewed(modelConfig.vocabSize(), 1);
    LayerTaps sameTaps = LayerTaps.of(sink, 2, liveTaps(same));
    TinyLanguageModel sameModel = TinyLanguageModel.create(modelConfig, sameTaps);
    // Blocks of 5 steps and a cadence of 10: the listener never arms a tap at the end of a block,
    // so an "off" block never samples.
    Toggle toggle = new Toggle(PhasewatchTrainingListener.builder(sink).taps(sameTaps).build());
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    int rounds = stepsPerArm / block;
    double[][] wall = new double[2][rounds];
    double[][] cpu = new double[2][rounds];
    try (var t = LanguageModelTraining.start(sameModel, corpus, toggle)) {
      toggle.on = false;
      t.train(warmup);
      toggle.on = true;
      t.train(warmup);
      sink.nanos = 0;
      sink.calls = 0;
      sink.rowCalls.clear();
      sink.stepCalls.clear();
      long agentBefore = agentThreadsCpu(threads, "same");
      long timedStart = System.nanoTime();
      // Every timed step: {arm, round, training-thread CPU ms, rows() calls in it}, to tell a
      // cost of the steps that sample from the machine's own outliers.
      List<double[]> stepLog = new java.util.ArrayList<>();
      for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < 2; i++) {
          int arm = (i + r) % 2;
          toggle.on = arm == 1;
          long c0 = threads.getCurrentThreadCpuTime();
          long t0 = System.nanoTime();
          for (int s = 0; s < block; s++) {
            long sc0 = threads.getCurrentThreadCpuTime();
            int calls = sink.rowCalls.size();
            t.step();
            stepLog.add(
                new double[] {
                  arm,
                  r,
                  (threads.getCurrentThreadCpuTime() - sc0) / 1e6,
                  sink.rowCalls.size() - calls
                });
          }
          wall[arm][r] = (System.nanoTime() - t0) / 1e6 / block;
          cpu[arm][r] = (threads.getCurrentThreadCpuTime() - c0) / 1e6 / block;
        }
      }
      double timedWallMs = (System.nanoTime() - timedStart) / 1e6;
      long steps = (long) rounds * block;
      printRun(modelConfig, same, steps, block, mean(wall[0]), mean(cpu[0]));
      System.out.printf(
          Locale.ROOT,
          "the same model, live agent on vs off: training-thread CPU %s; wall %s%n",
          compare(cpu[1], cpu[0]),
          compare(wall[1], wall[0]));
      System.out.printf(
          Locale.ROOT,
          "training thread inside the agent's calls: %.1f µs per step of the on arm = %.3f %% of"
              + " its step (wall, %d calls)%n",
          sink.nanos / 1e3 / steps,
          100 * sink.nanos / (steps * mean(wall[1]) * 1e6),
          sink.calls);
      printSteps(stepLog);
      System.out.println("agent rows(): " + quantiles(sink.rowCalls));
      System.out.println("agent stepEnded(): " + quantiles(sink.stepCalls));
      double agentMs = (agentThreadsCpu(threads, "same") - agentBefore) / 1e6;
      System.out.printf(
          Locale.ROOT,
          "agent threads (sketch, publisher, Kafka producer) CPU over the %.0f s timed run: %.0f"
              + " ms = %.2f %% of one core%n",
          timedWallMs / 1e3,
          agentMs,
          100 * agentMs / timedWallMs);
    }
    sameAgent.close(Duration.ofSeconds(30));
    System.out.println(sameAgent.summary());
  }

  /**
   * Training-thread CPU per step of the off arm, of the on arm's steps that sampled and of those
   * that did not (mean and median), and the slowest steps of the run with their arm and round.
   */
  private static void printSteps(List<double[]> log) {
    Map<String, java.util.function.Predicate<double[]>> groups = new java.util.LinkedHashMap<>();
    groups.put("off arm", e -> e[0] == 0);
    groups.put("on arm, steps that sampled", e -> e[0] == 1 && e[3] > 0);
    groups.put("on arm, steps that did not", e -> e[0] == 1 && e[3] == 0);
    groups.forEach(
        (name, group) -> {
          double[] ms = log.stream().filter(group).mapToDouble(e -> e[2]).sorted().toArray();
          if (ms.length > 0) {
            System.out.printf(
                Locale.ROOT,
                "per step, %s: %d steps, CPU mean %.1f ms, median %.1f ms%n",
                name,
                ms.length,
                Arrays.stream(ms).average().orElse(Double.NaN),
                ms[ms.length / 2]);
          }
        });
    List<double[]> slowest = new java.util.ArrayList<>(log);
    slowest.sort((a, b) -> Double.compare(b[2], a[2]));
    StringBuilder b = new StringBuilder("slowest steps (arm, round, CPU ms, sampled):");
    for (double[] e : slowest.subList(0, Math.min(12, slowest.size()))) {
      b.append(
          String.format(
              Locale.ROOT,
              " [%s r%d %.0f%s]",
              e[0] == 1 ? "on" : "off",
              (int) e[1],
              e[2],
              e[3] > 0 ? " sampled" : ""));
    }
    System.out.println(b);
  }

  /**
   * The agent's own heap, measured alone: one agent fed rows shaped like the live arm's (every
   * tappable layer of the model, {@code rows-per-step × d} every {@code every-steps} steps) for
   * several windows, heap after GC with it running versus before.
   */
  private static void heap(ModelConfig model, String world) throws Exception {
    int d = model.dModel();
    List<String> layers = TinyLanguageModel.tappableBlocks(model);
    var mem = ManagementFactory.getMemoryMXBean();
    AgentConfig offline =
        AgentConfigLoader.load(
            "run: heap\npublish: {enabled: false}\n" + world, Map.of(), Map.of());
    gc();
    long before = mem.getHeapMemoryUsage().getUsed();
    PhasewatchAgent agent = PhasewatchAgent.start(offline, new SimpleMeterRegistry());
    int rowsPerStep = offline.sampling().rowsPerStep();
    float[] rows = new float[rowsPerStep * d];
    java.util.Random rng = new java.util.Random(1);
    for (long step = 1; step <= 350; step++) {
      if (step % offline.sampling().everySteps() == 0) {
        for (String layer : layers) {
          for (int i = 0; i < rows.length; i++) {
            rows[i] = (float) rng.nextGaussian();
          }
          agent.rows(layer, step, rows, rowsPerStep, d);
        }
      }
      agent.stepEnded(step, step, 0);
    }
    Thread.sleep(500);
    gc();
    long during = mem.getHeapMemoryUsage().getUsed();
    agent.close(Duration.ofSeconds(5));
    long queueBoundPerLayerSample = 4L * rowsPerStep * d;
    AgentConfig.Kind kind = offline.sketch().choose(layers.get(0), d).kind();
    String state =
        switch (kind) {
          case EXACT ->
              String.format(Locale.ROOT, "exact, 8·(d²+d) = %.1f KiB", 8.0 * (d * d + d) / 1024);
          case SAMPLE ->
              String.format(
                  Locale.ROOT,
                  "row sample of %d rows, 4·rows·d = %.1f KiB",
                  offline.sketch().sampleCapacity(offline.worldSize(), d),
                  4.0 * offline.sketch().sampleCapacity(offline.worldSize(), d) * d / 1024);
          case EXACT32 ->
              String.format(
                  Locale.ROOT,
                  "float32 co-moment, %.1f KiB",
                  io.phasewatch.core.sketch.Float32Moment.bytesHeld(d) / 1024.0);
          case FD -> "Frequent Directions";
        };
    System.out.printf(
        Locale.ROOT,
        "agent heap (%d layers, d=%d, world-size %d, mid-window): %.1f KiB measured; state per"
            + " layer (%s); one sampled batch per layer %d × %d × 4 B = %.1f KiB; queue bound %s"
            + " rows / %.0f MiB over all layers%n",
        layers.size(),
        d,
        offline.worldSize(),
        (during - before) / 1024.0,
        state,
        rowsPerStep,
        d,
        queueBoundPerLayerSample / 1024.0,
        String.valueOf(offline.queue().maxRows()),
        offline.queue().maxBytes() / (1024.0 * 1024));
  }

  private static void gc() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(100);
    }
  }
}
