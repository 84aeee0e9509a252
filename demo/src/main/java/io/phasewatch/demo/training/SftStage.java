package io.phasewatch.demo.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.listener.TrainingListener;
import java.util.Random;

/**
 * Supervised fine-tuning: next-token training on demonstrations of the {@link ReversalTask}, the
 * loss counted on the response tokens only (the reversed span and the end marker), as instruction
 * tuning masks the prompt. Loss = mean over response tokens of {@code −log π(y_t | x, y_<t)}.
 */
final class SftStage extends StageTrainer {

  private final ReversalTask task;
  private final PostTrainingConfig config;
  private final Random rng;

  SftStage(
      TinyLanguageModel policy,
      ReversalTask task,
      PostTrainingConfig config,
      TrainingListener... listeners) {
    super("sft", policy, config.sftLearningRate(), listeners);
    this.task = task;
    this.config = config;
    this.rng = new Random(config.seed() ^ 0x5F7L);
  }

  /** One step on a fresh batch of demonstrations; returns the masked response loss. */
  float step() {
    int b = config.batchSize();
    int width = 2 * config.maxSpan() + 3;
    int[][] rows = new int[b][];
    float[][] mask = new float[b][];
    for (int i = 0; i < b; i++) {
      int k = config.minSpan() + rng.nextInt(config.maxSpan() - config.minSpan() + 1);
      ReversalTask.Example e = task.example(rng, k);
      rows[i] = task.sequence(e, e.answer());
      mask[i] = responseMask(k, width - 1);
    }
    try (NDManager m = newBatchManager()) {
      NDArray all = tokens(m, rows, width);
      NDArray inputs = all.get(":, :-1");
      NDArray targets = all.get(":, 1:");
      NDArray weights = floats(m, mask, width - 1);
      float tokensInBatch = weights.sum().getFloat();
      return optimise(
          m,
          inputs,
          logits -> tokenLogProbs(logits, targets).mul(weights).sum().neg().div(tokensInBatch));
    }
  }

  /**
   * Weights of the {@code width} target positions of a sequence with a span of {@code k}: the
   * target at position j is token j + 1, and the response (k tokens and the end marker) occupies
   * tokens k + 2 … 2k + 2.
   */
  static float[] responseMask(int k, int width) {
    float[] w = new float[width];
    for (int j = k + 1; j <= 2 * k + 1 && j < width; j++) {
      w[j] = 1f;
    }
    return w;
  }
}
