package io.phasewatch.demo.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import io.phasewatch.agent.djl.Corpus;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * The behavioural measures taken before and after each stage, all on fixed held-out data drawn with
 * their own seed (never a training batch), in inference mode:
 *
 * <ul>
 *   <li>{@code in_distribution_loss}: mean response-token cross-entropy on reversal demonstrations
 *       (the SFT/DPO distribution);
 *   <li>{@code held_out_loss}: mean next-token cross-entropy on pretraining-corpus sequences (the
 *       distribution post-training leaves);
 *   <li>{@code preference_accuracy}, {@code preference_margin}: share of held-out preference pairs
 *       the policy ranks right, and the mean {@code log π(y_w|x) − log π(y_l|x)};
 *   <li>{@code pass@1}, {@code pass@4}, {@code pass@16}: the unbiased pass@k estimator (Chen et al.
 *       2021) from {@code evalSamples} samples per RLVR prompt at the training temperature;
 *   <li>{@code distinct}: mean number of distinct responses among those samples.
 * </ul>
 */
final class Evaluation {

  private static final int CORPUS_SEQUENCES = 64;
  private static final int BATCH = 64;

  private final ReversalTask task;
  private final PostTrainingConfig config;
  private final int[][] demonstrations;
  private final float[][] demoMask;
  private final int[][] corpusSequences;
  private final DpoStage.Pairs pairs;
  private final ReversalTask.Example[] rlvrPrompts;
  private final int contextLength;

  Evaluation(ReversalTask task, Corpus corpus, PostTrainingConfig config, int contextLength) {
    this.task = task;
    this.config = config;
    this.contextLength = contextLength;
    Random rng = new Random(config.seed() * 31 + 0xE7A1L);
    int n = config.evalPrompts();
    int width = 2 * config.maxSpan() + 3;
    demonstrations = new int[n][];
    demoMask = new float[n][];
    for (int i = 0; i < n; i++) {
      int k = config.minSpan() + rng.nextInt(config.maxSpan() - config.minSpan() + 1);
      ReversalTask.Example e = task.example(rng, k);
      demonstrations[i] = task.sequence(e, e.answer());
      demoMask[i] = SftStage.responseMask(k, width - 1);
    }
    corpusSequences = new int[CORPUS_SEQUENCES][];
    for (int i = 0; i < CORPUS_SEQUENCES; i++) {
      corpusSequences[i] = corpus.sample(rng, contextLength + 1);
    }
    pairs = DpoStage.pairs(task, config, rng, n);
    rlvrPrompts = new ReversalTask.Example[n];
    for (int i = 0; i < n; i++) {
      rlvrPrompts[i] =
          config.rlvrUniformSpans()
              ? task.uniformExample(rng, config.rlvrSpan())
              : task.example(rng, config.rlvrSpan());
    }
  }

  /** Every measure, in a stable order. */
  Map<String, Double> measure(TinyLanguageModel model) {
    Map<String, Double> out = new LinkedHashMap<>();
    int width = 2 * config.maxSpan() + 3;
    out.put("in_distribution_loss", -meanLogProb(model, demonstrations, demoMask, width));
    float[][] all = new float[CORPUS_SEQUENCES][contextLength];
    for (float[] row : all) {
      java.util.Arrays.fill(row, 1f);
    }
    out.put("held_out_loss", -meanLogProb(model, corpusSequences, all, contextLength + 1));
    double[] chosen = sequenceLogProbs(model, pairs.chosen(), pairs.mask(), width);
    double[] rejected = sequenceLogProbs(model, pairs.rejected(), pairs.mask(), width);
    int wins = 0;
    double margin = 0;
    for (int i = 0; i < chosen.length; i++) {
      wins += chosen[i] > rejected[i] ? 1 : 0;
      margin += chosen[i] - rejected[i];
    }
    out.put("preference_accuracy", (double) wins / chosen.length);
    out.put("preference_margin", margin / chosen.length);
    out.putAll(reward(model));
    return out;
  }

  private Map<String, Double> reward(TinyLanguageModel model) {
    int s = config.evalSamples();
    int k = config.rlvrSpan();
    Random rng = new Random(config.seed() * 17 + 0x5A3L);
    double[] passAt = new double[3];
    int[] ks = {1, 4, 16};
    double distinct = 0;
    int chunk = Math.max(1, BATCH * 4 / s);
    for (int from = 0; from < rlvrPrompts.length; from += chunk) {
      int to = Math.min(rlvrPrompts.length, from + chunk);
      int[][] starts = new int[(to - from) * s][];
      for (int p = from; p < to; p++) {
        int[] prompt = task.prompt(rlvrPrompts[p]);
        for (int j = 0; j < s; j++) {
          starts[(p - from) * s + j] = prompt;
        }
      }
      int[][] seqs = Sampler.sample(model, starts, k, config.temperature(), rng);
      for (int p = from; p < to; p++) {
        int correct = 0;
        Set<List<Integer>> seen = new HashSet<>();
        for (int j = 0; j < s; j++) {
          int[] seq = seqs[(p - from) * s + j];
          int[] response = java.util.Arrays.copyOfRange(seq, k + 2, 2 * k + 2);
          correct += task.isCorrect(rlvrPrompts[p], response) ? 1 : 0;
          seen.add(java.util.Arrays.stream(response).boxed().toList());
        }
        distinct += seen.size();
        for (int i = 0; i < ks.length; i++) {
          passAt[i] += passAtK(s, correct, ks[i]);
        }
      }
    }
    Map<String, Double> out = new LinkedHashMap<>();
    for (int i = 0; i < ks.length; i++) {
      if (ks[i] <= s) {
        out.put("pass@" + ks[i], passAt[i] / rlvrPrompts.length);
      }
    }
    out.put("distinct", distinct / rlvrPrompts.length);
    return out;
  }

  /** {@code 1 − C(n−c, k) / C(n, k)}: the chance that k of the n samples include a correct one. */
  static double passAtK(int n, int c, int k) {
    if (n - c < k) {
      return 1.0;
    }
    double fail = 1.0;
    for (int i = n - c + 1; i <= n; i++) {
      fail *= 1.0 - (double) k / i;
    }
    return 1.0 - fail;
  }

  /** Mean log-probability per weighted target token. */
  private static double meanLogProb(
      TinyLanguageModel model, int[][] rows, float[][] mask, int width) {
    double sum = 0;
    double count = 0;
    double[] perSequence = sequenceLogProbs(model, rows, mask, width);
    for (int i = 0; i < rows.length; i++) {
      sum += perSequence[i];
      for (float w : mask[i]) {
        count += w;
      }
    }
    return sum / count;
  }

  /** Weighted sum of the target log-probabilities of each sequence. */
  static double[] sequenceLogProbs(
      TinyLanguageModel model, int[][] rows, float[][] mask, int width) {
    double[] out = new double[rows.length];
    try (NDManager root = NDManager.newBaseManager("PyTorch")) {
      for (int from = 0; from < rows.length; from += BATCH) {
        int to = Math.min(rows.length, from + BATCH);
        try (NDManager m = root.newSubManager()) {
          int[][] part = java.util.Arrays.copyOfRange(rows, from, to);
          float[][] w = java.util.Arrays.copyOfRange(mask, from, to);
          NDArray all = StageTrainer.tokens(m, part, width);
          NDArray inputs = all.get(":, :-1");
          NDArray targets = all.get(":, 1:");
          NDArray logits =
              model.forward(new ParameterStore(m, false), new NDList(inputs), false).head();
          float[] lp =
              StageTrainer.tokenLogProbs(logits, targets)
                  .mul(StageTrainer.floats(m, w, width - 1))
                  .sum(new int[] {1})
                  .toFloatArray();
          for (int i = 0; i < lp.length; i++) {
            out[from + i] = lp[i];
          }
        }
      }
    }
    return out;
  }
}
