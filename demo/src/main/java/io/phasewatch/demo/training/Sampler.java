package io.phasewatch.demo.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import java.util.Random;

/**
 * Autoregressive temperature sampling from the policy, in inference mode: each new token is drawn
 * from {@code softmax(logits / τ)} at the last position. No cache; the sequences are a dozen tokens
 * long, so recomputing the prefix is cheaper than keeping one.
 */
final class Sampler {

  private Sampler() {}

  /**
   * Extends each of the equally long {@code prompts} by {@code steps} sampled tokens; returns the
   * full sequences.
   */
  static int[][] sample(
      TinyLanguageModel model, int[][] prompts, int steps, float temperature, Random rng) {
    int n = prompts.length;
    int len = prompts[0].length;
    int total = len + steps;
    if (total > model.config().contextLength()) {
      throw new IllegalArgumentException(
          "sampler: " + total + " tokens exceed contextLength " + model.config().contextLength());
    }
    int[][] out = new int[n][];
    for (int i = 0; i < n; i++) {
      if (prompts[i].length != len) {
        throw new IllegalArgumentException("sampler: prompts of unequal length");
      }
      out[i] = java.util.Arrays.copyOf(prompts[i], total);
    }
    int v = model.config().vocabSize();
    NDManager root = NDManager.newBaseManager("PyTorch");
    try (root) {
      for (int t = len; t < total; t++) {
        float[] probs;
        try (NDManager m = root.newSubManager()) {
          int[][] prefix = new int[n][];
          for (int i = 0; i < n; i++) {
            prefix[i] = java.util.Arrays.copyOf(out[i], t);
          }
          NDArray x = StageTrainer.tokens(m, prefix, t);
          NDArray logits = model.forward(new ParameterStore(m, false), new NDList(x), false).head();
          probs = logits.get(":, -1, :").div(temperature).softmax(-1).toFloatArray();
        }
        for (int i = 0; i < n; i++) {
          out[i][t] = draw(probs, i * v, v, rng);
        }
      }
    }
    return out;
  }

  private static int draw(float[] probs, int offset, int v, Random rng) {
    double u = rng.nextDouble();
    double c = 0;
    for (int j = 0; j < v; j++) {
      c += probs[offset + j];
      if (u < c) {
        return j;
      }
    }
    // Rounding left the sum a hair under 1: the last token with mass.
    for (int j = v - 1; j >= 0; j--) {
      if (probs[offset + j] > 0) {
        return j;
      }
    }
    return v - 1;
  }
}
