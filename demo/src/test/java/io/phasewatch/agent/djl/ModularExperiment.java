package io.phasewatch.agent.djl;

import io.phasewatch.demo.training.LanguageModelTraining;
import io.phasewatch.demo.training.ModelConfig;
import io.phasewatch.demo.training.ModularAddition;
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
 * The experiment behind docs/demo-science.md's modular-addition section: trains the real model on
 * {@code a + b mod p} with probe taps on every block and the final norm, and prints (step, layer,
 * loss, RankMe, α, R², train and held-out accuracy) per probe as CSV.
 *
 * <p>Arguments as {@code key=value}: p, fraction, skew, d, heads, layers, lr, warmup, wd, beta2,
 * batch, steps, every, probe, seed, csv (output file, optional).
 */
public final class ModularExperiment {

  private ModularExperiment() {}

  public static void main(String[] args) throws IOException {
    Map<String, String> a = new HashMap<>();
    for (String arg : args) {
      int eq = arg.indexOf('=');
      a.put(arg.substring(0, eq), arg.substring(eq + 1));
    }
    int p = Integer.parseInt(a.getOrDefault("p", "59"));
    double fraction = Double.parseDouble(a.getOrDefault("fraction", "0.5"));
    double skew = Double.parseDouble(a.getOrDefault("skew", "0"));
    int d = Integer.parseInt(a.getOrDefault("d", "128"));
    int heads = Integer.parseInt(a.getOrDefault("heads", "4"));
    int layers = Integer.parseInt(a.getOrDefault("layers", "1"));
    float lr = Float.parseFloat(a.getOrDefault("lr", "1e-3"));
    int warmup = Integer.parseInt(a.getOrDefault("warmup", "10"));
    float wd = Float.parseFloat(a.getOrDefault("wd", "1.0"));
    float beta2 = Float.parseFloat(a.getOrDefault("beta2", "0.98"));
    int batch = Integer.parseInt(a.getOrDefault("batch", "512"));
    int steps = Integer.parseInt(a.getOrDefault("steps", "3000"));
    int every = Integer.parseInt(a.getOrDefault("every", "25"));
    int probeN = Integer.parseInt(a.getOrDefault("probe", "1024"));
    long seed = Long.parseLong(a.getOrDefault("seed", "42"));
    ModularAddition task = ModularAddition.of(p, fraction, skew, seed);
    ModelConfig config =
        new ModelConfig(
            task.vocabSize(),
            d,
            layers,
            heads,
            ModularAddition.sequenceLength(),
            batch,
            lr,
            warmup,
            ModelConfig.Schedule.CONSTANT,
            wd,
            seed,
            steps,
            beta2);
    List<String> out = new ArrayList<>();
    out.add("step,layer,loss,effective_rank,alpha,alpha_r2,train_acc,test_acc,seconds");
    ProbeCapture sink = new ProbeCapture();
    List<LayerTaps.Tap> tapList = new ArrayList<>();
    for (String name : TinyLanguageModel.tappableBlocks(config)) {
      tapList.add(LayerTaps.Tap.probe(name, every));
    }
    LayerTaps taps = LayerTaps.of(sink, seed, tapList);
    ProbeSet probe = task.probe(Math.min(probeN, p * p), seed + 1);
    TinyLanguageModel model = TinyLanguageModel.create(config, taps);
    PhasewatchTrainingListener listener =
        PhasewatchTrainingListener.builder(sink)
            .taps(taps)
            .probe(model, probe)
            .stretchCadence(false)
            .build();
    System.out.println(
        "# " + config + " p=" + p + " fraction=" + fraction + " skew=" + skew + " probe=" + probeN);
    Map<Long, double[]> accuracy = new HashMap<>();
    int[][] trainPairs = task.trainPairs();
    int[][] heldOut = task.heldOutPairs();
    try (LanguageModelTraining training = LanguageModelTraining.start(model, task, listener)) {
      for (int s = 1; s <= steps; s++) {
        training.step();
        if (s % every == 0) {
          double tr = task.accuracy(trainPairs, training.logits(task.sequences(trainPairs)));
          double te = task.accuracy(heldOut, training.logits(task.sequences(heldOut)));
          accuracy.put((long) s, new double[] {tr, te});
          System.out.printf(
              Locale.ROOT,
              "# step %d loss %.4f train %.3f test %.3f at %.0f s%n",
              s,
              sink.loss(),
              tr,
              te,
              sink.seconds());
        }
      }
    }
    for (ProbeCapture.Captured c : sink.captured) {
      double[] ev = Spectra.covarianceEigenvalues(c.rows(), c.rowCount(), c.dim());
      double[] fit = Spectra.alpha(ev, 12, 100);
      double[] acc = accuracy.getOrDefault(c.step(), new double[] {Double.NaN, Double.NaN});
      String line =
          String.format(
              Locale.ROOT,
              "%d,%s,%.4f,%.3f,%.4f,%.4f,%.4f,%.4f,%.1f",
              c.step(),
              c.layer(),
              c.loss(),
              Spectra.rankMe(ev),
              fit[0],
              fit[1],
              acc[0],
              acc[1],
              c.seconds());
      out.add(line);
    }
    out.forEach(System.out::println);
    if (a.containsKey("csv")) {
      Path path = Path.of(a.get("csv"));
      try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(path))) {
        out.forEach(w::println);
      }
    }
  }
}
