package io.phasewatch.agent.djl;

import io.phasewatch.demo.training.LanguageModelTraining;
import io.phasewatch.demo.training.ModelConfig;
import io.phasewatch.demo.training.SyntheticCorpus;
import io.phasewatch.demo.training.TinyLanguageModel;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The experiment behind docs/demo-science.md: trains the real model with probe taps on a middle
 * layer and the final norm, and prints (step, layer, loss, RankMe, α, R²) per probe as CSV.
 *
 * <p>Arguments as {@code key=value}: d, heads, layers, vocab, zipf, lr, warmup, schedule, steps,
 * every, probe, probeLen, batch, context, seed, csv (output file, optional).
 */
public final class PhaseExperiment {

  private PhaseExperiment() {}

  public static void main(String[] args) throws IOException {
    Map<String, String> a = new HashMap<>();
    for (String arg : args) {
      int eq = arg.indexOf('=');
      a.put(arg.substring(0, eq), arg.substring(eq + 1));
    }
    ModelConfig base = ModelConfig.demoDefaults();
    int d = Integer.parseInt(a.getOrDefault("d", String.valueOf(base.dModel())));
    int heads = Integer.parseInt(a.getOrDefault("heads", String.valueOf(base.heads())));
    int layers = Integer.parseInt(a.getOrDefault("layers", String.valueOf(base.layers())));
    int vocab = Integer.parseInt(a.getOrDefault("vocab", String.valueOf(base.vocabSize())));
    double zipf = Double.parseDouble(a.getOrDefault("zipf", "1.1"));
    float lr = Float.parseFloat(a.getOrDefault("lr", String.valueOf(base.learningRate())));
    int warmup = Integer.parseInt(a.getOrDefault("warmup", String.valueOf(base.warmupSteps())));
    ModelConfig.Schedule schedule =
        ModelConfig.Schedule.parse(a.getOrDefault("schedule", "cosine"));
    int steps = Integer.parseInt(a.getOrDefault("steps", String.valueOf(base.totalSteps())));
    int every = Integer.parseInt(a.getOrDefault("every", "25"));
    int probeN = Integer.parseInt(a.getOrDefault("probe", "512"));
    int batch = Integer.parseInt(a.getOrDefault("batch", String.valueOf(base.batchSize())));
    int context = Integer.parseInt(a.getOrDefault("context", String.valueOf(base.contextLength())));
    int probeLen = Integer.parseInt(a.getOrDefault("probeLen", String.valueOf(context)));
    long seed = Long.parseLong(a.getOrDefault("seed", "42"));
    ModelConfig config =
        base.withVocabSize(vocab)
            .withDModel(d, heads)
            .withLayers(layers)
            .withShape(context, batch)
            .withSchedule(lr, warmup, schedule, steps)
            .withSeed(seed);
    SyntheticCorpus corpus = SyntheticCorpus.of(vocab, zipf, 0.85, 0.5, seed);
    String middle = "layers." + (layers - 1) / 2 + ".out";
    List<String> out = new ArrayList<>();
    out.add("step,layer,loss,effective_rank,alpha,alpha_r2,alpha_2_50,seconds");
    int lo = d > 100 ? 12 : 2;
    int hi = d > 100 ? 100 : Math.min(50, d - 1);
    ProbeCapture sink = new ProbeCapture();
    LayerTaps taps =
        LayerTaps.of(
            sink,
            seed,
            List.of(LayerTaps.Tap.probe(middle, every), LayerTaps.Tap.probe("final_norm", every)));
    ProbeSet probe = ProbeSet.fromCorpus(corpus, probeN, probeLen, probeLen, seed + 1_000_003L);
    TinyLanguageModel model = TinyLanguageModel.create(config, taps);
    PhasewatchTrainingListener listener =
        PhasewatchTrainingListener.builder(sink)
            .taps(taps)
            .probe(model, probe)
            .stretchCadence(false)
            .build();
    System.out.println(
        "# " + config + " zipf=" + zipf + " probe=" + probeN + " window=" + lo + ".." + hi);
    try (LanguageModelTraining training = LanguageModelTraining.start(model, corpus, listener)) {
      training.train(steps);
      System.out.printf(
          Locale.ROOT,
          "# probe overhead %.3f of training time at every=%d (%d probes)%n",
          listener.probeOverhead(),
          listener.probeEverySteps(),
          listener.probesRun());
    }
    for (ProbeCapture.Captured c : sink.captured) {
      double[] ev = Spectra.covarianceEigenvalues(c.rows(), c.rowCount(), c.dim());
      double[] fit = Spectra.alpha(ev, lo, hi);
      double[] small = Spectra.alpha(ev, 2, Math.min(50, c.dim() - 1));
      String line =
          String.format(
              Locale.ROOT,
              "%d,%s,%.4f,%.3f,%.4f,%.4f,%.4f,%.1f",
              c.step(),
              c.layer(),
              c.loss(),
              Spectra.rankMe(ev),
              fit[0],
              fit[1],
              small[0],
              c.seconds());
      out.add(line);
      System.out.println(line);
    }
    if (a.containsKey("csv")) {
      Path p = Path.of(a.get("csv"));
      try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(p))) {
        out.forEach(w::println);
      }
    }
  }
}
