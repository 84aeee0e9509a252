package io.phasewatch.demo.training;

import io.phasewatch.agent.capture.CaptureSink;
import io.phasewatch.agent.djl.LayerTaps;
import io.phasewatch.agent.djl.PhasewatchTrainingListener;
import io.phasewatch.agent.djl.ProbeSet;
import io.phasewatch.agent.djl.Spectra;
import io.phasewatch.core.wire.Stage;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The measurement behind docs/post-training.md: pretrains the demo model with probe taps on the
 * middle layer and the final norm, runs the post-training stages, and prints one CSV line per probe
 * (step, stage, layer, loss, RankMe, α over the study's window and over 2…50) and the stage
 * reports. Arguments {@code key=value}: steps (pretraining), stages, sft, dpo, rlvr (stage
 * lengths), every (probe cadence), probe (probe sequences), probeOn (corpus, default, or task: the
 * task prompts), save / load (a pretrained checkpoint, to rerun post-training variants without
 * pretraining again), klBeta, csv.
 */
public final class PostTrainingExperiment {

  private PostTrainingExperiment() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> a = new HashMap<>();
    for (String arg : args) {
      int eq = arg.indexOf('=');
      a.put(arg.substring(0, eq), arg.substring(eq + 1));
    }
    ModelConfig config = ModelConfig.demoDefaults();
    int steps = Integer.parseInt(a.getOrDefault("steps", String.valueOf(config.totalSteps())));
    int every = Integer.parseInt(a.getOrDefault("every", "25"));
    int probeN = Integer.parseInt(a.getOrDefault("probe", "512"));
    PostTrainingConfig base = PostTrainingConfig.demoDefaults();
    PostTrainingConfig pt =
        base.withSteps(
            Integer.parseInt(a.getOrDefault("sft", String.valueOf(base.sftSteps()))),
            Integer.parseInt(a.getOrDefault("dpo", String.valueOf(base.dpoSteps()))),
            Integer.parseInt(a.getOrDefault("rlvr", String.valueOf(base.rlvrSteps()))));
    if (a.containsKey("klBeta") || a.containsKey("ptSeed")) {
      pt =
          new PostTrainingConfig(
              pt.sftSteps(),
              pt.dpoSteps(),
              pt.rlvrSteps(),
              pt.batchSize(),
              pt.sftLearningRate(),
              pt.dpoLearningRate(),
              pt.rlvrLearningRate(),
              pt.minSpan(),
              pt.maxSpan(),
              pt.rlvrSpan(),
              pt.rlvrUniformSpans(),
              pt.dpoBeta(),
              pt.groupSize(),
              pt.temperature(),
              Float.parseFloat(a.getOrDefault("klBeta", String.valueOf(pt.klBeta()))),
              pt.evalPrompts(),
              pt.evalSamples(),
              Long.parseLong(a.getOrDefault("ptSeed", String.valueOf(pt.seed()))));
    }
    List<Stage> stages = PostTraining.parseStages(a.getOrDefault("stages", "sft,dpo,rlvr"));
    SyntheticCorpus corpus = SyntheticCorpus.skewed(config.vocabSize(), config.seed());
    String middle = "layers." + (config.layers() - 1) / 2 + ".out";
    List<String> out = new ArrayList<>();
    out.add("step,stage,layer,loss,effective_rank,alpha,alpha_2_50,seconds");
    long start = System.nanoTime();
    double[] loss = {Double.NaN};
    Stage[] stage = {Stage.PRETRAIN};
    CaptureSink sink =
        new CaptureSink() {
          @Override
          public void rows(String layer, long step, float[] rows, int rowCount, int dim) {
            double[] ev = Spectra.covarianceEigenvalues(rows, rowCount, dim);
            String line =
                String.format(
                    Locale.ROOT,
                    "%d,%s,%s,%.4f,%.3f,%.4f,%.4f,%.1f",
                    step,
                    stage[0].label(),
                    layer,
                    loss[0],
                    Spectra.rankMe(ev),
                    Spectra.alpha(ev, 12, Math.min(100, dim))[0],
                    Spectra.alpha(ev, 2, Math.min(50, dim - 1))[0],
                    (System.nanoTime() - start) / 1e9);
            out.add(line);
            System.out.println(line);
          }

          @Override
          public void stepEnded(long step, long tokensSeen, double l) {
            loss[0] = l;
          }

          @Override
          public void stageChanged(Stage s, long step) {
            stage[0] = s;
            System.out.println("# stage " + s.label() + " from step " + step);
          }
        };
    LayerTaps taps =
        LayerTaps.of(
            sink,
            config.seed(),
            List.of(LayerTaps.Tap.probe(middle, every), LayerTaps.Tap.probe("final_norm", every)));
    ProbeSet probe = ProbeSet.fromCorpus(corpus, probeN, 64, 64, config.seed() + 1_000_003L);
    if ("task".equals(a.get("probeOn"))) {
      // Prompts of the post-training task, kept at their RESPOND marker: the state the answer is
      // generated from.
      ReversalTask task = new ReversalTask(corpus, config.vocabSize());
      java.util.Random r = new java.util.Random(config.seed() + 2_000_003L);
      int[][] prompts = new int[probeN][];
      for (int i = 0; i < probeN; i++) {
        prompts[i] =
            task.prompt(task.example(r, pt.minSpan() + r.nextInt(pt.maxSpan() - pt.minSpan() + 1)));
      }
      probe = ProbeSet.of(prompts, 0);
    }
    TinyLanguageModel model = TinyLanguageModel.create(config, taps);
    PhasewatchTrainingListener listener =
        PhasewatchTrainingListener.builder(sink)
            .startStep(a.containsKey("load") ? steps - 1 : 0)
            .taps(taps)
            .probe(model, probe)
            .overheadBudget(1.0)
            .build();
    try (LanguageModelTraining training = LanguageModelTraining.start(model, corpus, listener)) {
      if (a.containsKey("load")) {
        try (DataInputStream in =
            new DataInputStream(Files.newInputStream(Path.of(a.get("load"))))) {
          model.loadParameters(training.trainer().getManager(), in);
        }
        // Loaded arrays are fresh tensors: mark them trainable as initialisation would have.
        model.getParameters().values().forEach(p -> p.getArray().setRequiresGradient(true));
        // One step at the warmup's first learning rate (lr/100) with the listener's count at the
        // checkpoint's: the probe at its end, the baseline of the first stage.
        training.train(1);
      } else {
        training.train(steps);
      }
      double pretrainSeconds = (System.nanoTime() - start) / 1e9;
      System.out.printf(Locale.ROOT, "# pretraining %d steps: %.1f s%n", steps, pretrainSeconds);
      if (a.containsKey("save")) {
        try (DataOutputStream o =
            new DataOutputStream(Files.newOutputStream(Path.of(a.get("save"))))) {
          model.saveParameters(o);
        }
      }
      List<PostTraining.StageReport> reports =
          PostTraining.run(
              training,
              corpus,
              stages,
              pt,
              sink,
              r ->
                  System.out.printf(
                      Locale.ROOT,
                      "# %s steps %d-%d %.1f s loss %.4f -> %.4f stage metric %.3f%n#   before %s%n#   after  %s%n",
                      r.stage().label(),
                      r.firstStep(),
                      r.lastStep(),
                      r.seconds(),
                      r.firstLoss(),
                      r.lastLoss(),
                      r.lastStageMetric(),
                      new LinkedHashMap<>(new java.util.TreeMap<>(r.before())),
                      new LinkedHashMap<>(new java.util.TreeMap<>(r.after()))),
              listener);
      System.out.printf(
          Locale.ROOT,
          "# total %.1f s, %d stages%n",
          (System.nanoTime() - start) / 1e9,
          reports.size());
    }
    summarise(out);
    if (a.containsKey("csv")) {
      try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(Path.of(a.get("csv"))))) {
        out.forEach(w::println);
      }
    }
  }

  /**
   * Per stage and layer: RankMe and α (study window) at the probe before the stage's first step and
   * at its last probe, and the least-squares slope per 100 steps over those probes.
   */
  static void summarise(List<String> csv) {
    record Row(long step, String stage, String layer, double rankMe, double alpha) {}
    List<Row> rows = new ArrayList<>();
    for (String line : csv.subList(1, csv.size())) {
      String[] f = line.split(",");
      rows.add(
          new Row(
              Long.parseLong(f[0]),
              f[1],
              f[2],
              Double.parseDouble(f[4]),
              Double.parseDouble(f[5])));
    }
    System.out.println(
        "# stage,layer,steps,rankme_start,rankme_end,rankme_slope100,alpha_start,alpha_end,alpha_slope100");
    for (String stage : List.of("sft", "dpo", "rlvr")) {
      for (String layer : rows.stream().map(Row::layer).distinct().toList()) {
        List<Row> in =
            rows.stream().filter(r -> r.layer().equals(layer) && r.stage().equals(stage)).toList();
        if (in.isEmpty()) {
          continue;
        }
        long first = in.get(0).step();
        List<Row> span = new ArrayList<>();
        rows.stream()
            .filter(r -> r.layer().equals(layer) && r.step() < first)
            .reduce((x, y) -> y)
            .ifPresent(span::add);
        span.addAll(in);
        Row s0 = span.get(0);
        Row s1 = span.get(span.size() - 1);
        System.out.printf(
            Locale.ROOT,
            "# %s,%s,%d-%d,%.2f,%.2f,%.2f,%.3f,%.3f,%.3f%n",
            stage,
            layer,
            s0.step(),
            s1.step(),
            s0.rankMe(),
            s1.rankMe(),
            100 * slope(span, Row::step, Row::rankMe),
            s0.alpha(),
            s1.alpha(),
            100 * slope(span, Row::step, Row::alpha));
      }
    }
  }

  private static <T> double slope(
      List<T> rows,
      java.util.function.ToLongFunction<T> x,
      java.util.function.ToDoubleFunction<T> y) {
    double mx = rows.stream().mapToLong(x).average().orElse(0);
    double my = rows.stream().mapToDouble(y).average().orElse(0);
    double sxy = 0;
    double sxx = 0;
    for (T r : rows) {
      sxy += (x.applyAsLong(r) - mx) * (y.applyAsDouble(r) - my);
      sxx += (x.applyAsLong(r) - mx) * (x.applyAsLong(r) - mx);
    }
    return sxx == 0 ? Double.NaN : sxy / sxx;
  }
}
