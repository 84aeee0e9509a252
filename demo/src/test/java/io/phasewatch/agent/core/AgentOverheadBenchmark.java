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
 * <p>Run: {@code OMP_NUM_THREADS=1 mvn -q -pl agent test-compile exec:java
 * -Dexec.classpathScope=test -Dexec.mainClass=io.phasewatch.agent.core.AgentOverheadBenchmark
 * -Dexec.args="1200 5" -Dai.djl.offline=true} (steps per arm, steps per block).
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

  public static void main(String[] args) throws Exception {
    int stepsPerArm = args.length > 0 ? Integer.parseInt(args[0]) : 300;
    int block = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    ModelConfig modelConfig = ModelConfig.demoDefaults();
    int d = modelConfig.dModel();
    try (KafkaBroker broker = KafkaBroker.start()) {
      Map<String, String> kafka = Map.of("kafka.bootstrap.servers", broker.bootstrapServers());

      // Live at the defaults: every 10 steps, 64 rows per tapped layer, windows of 100 steps.
      AgentConfig live =
          AgentConfigLoader.load(
              "run: bench-live\nsampling: {mode: live}\nkafka: {client.id: phasewatch-live}\n",
              Map.of(),
              kafka);
      AgentConfig probe =
          AgentConfigLoader.load(
              "run: bench-probe\nsampling: {mode: probe}\nkafka: {client.id: phasewatch-probe}\n",
              Map.of(),
              kafka);
      var liveRegistry = new SimpleMeterRegistry();
      var probeRegistry = new SimpleMeterRegistry();
      PhasewatchAgent liveAgent = PhasewatchAgent.start(live, liveRegistry);
      AgentConfig same =
          AgentConfigLoader.load(
              "run: bench-same\nsampling: {mode: live}\nkafka: {client.id: phasewatch-same}\n",
              Map.of(),
              kafka);
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
          arms[i].train(20);
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
        System.out.printf(
            Locale.ROOT,
            "model d=%d layers=%d ctx=%d batch=%d; %d steps per arm in blocks of %d; load average"
                + " %.1f on %d cores%n",
            d,
            modelConfig.layers(),
            modelConfig.contextLength(),
            modelConfig.batchSize(),
            steps,
            block,
            ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(),
            Runtime.getRuntime().availableProcessors());
        System.out.printf(
            Locale.ROOT,
            "step without agent: %.1f ms wall, %.1f ms CPU of the training thread%n",
            mean(wall[0]),
            mean(cpu[0]));
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
      heap(d, live);
    }
  }

  /**
   * The agent's own heap, measured alone: one agent fed rows shaped like the live arm's (3 layers,
   * 64 × d every 10 steps) for several windows, heap after GC with it running versus before.
   */
  private static void heap(int d, AgentConfig live) throws Exception {
    var mem = ManagementFactory.getMemoryMXBean();
    AgentConfig offline =
        AgentConfigLoader.load("run: heap\npublish: {enabled: false}\n", Map.of(), Map.of());
    gc();
    long before = mem.getHeapMemoryUsage().getUsed();
    PhasewatchAgent agent = PhasewatchAgent.start(offline, new SimpleMeterRegistry());
    float[] rows = new float[live.sampling().rowsPerStep() * d];
    java.util.Random rng = new java.util.Random(1);
    for (long step = 1; step <= 350; step++) {
      if (step % live.sampling().everySteps() == 0) {
        for (String layer : List.of("layers.0.out", "layers.1.out", "final_norm")) {
          for (int i = 0; i < rows.length; i++) {
            rows[i] = (float) rng.nextGaussian();
          }
          agent.rows(layer, step, rows, live.sampling().rowsPerStep(), d);
        }
      }
      agent.stepEnded(step, step, 0);
    }
    Thread.sleep(500);
    gc();
    long during = mem.getHeapMemoryUsage().getUsed();
    agent.close(Duration.ofSeconds(5));
    long queueBoundPerLayerSample = 4L * live.sampling().rowsPerStep() * d;
    System.out.printf(
        Locale.ROOT,
        "agent heap (3 layers, d=%d, exact summaries, mid-window): %.1f KiB measured; state per"
            + " layer 8·(d²+d) = %.1f KiB; one sampled batch per layer %d × %d × 4 B = %.1f KiB;"
            + " queue bound %s rows / %.0f MiB over all layers%n",
        d,
        (during - before) / 1024.0,
        8.0 * (d * d + d) / 1024,
        live.sampling().rowsPerStep(),
        d,
        queueBoundPerLayerSample / 1024.0,
        String.valueOf(live.queue().maxRows()),
        live.queue().maxBytes() / (1024.0 * 1024));
  }

  private static void gc() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(100);
    }
  }
}
