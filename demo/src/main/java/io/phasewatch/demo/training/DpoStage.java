package io.phasewatch.demo.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.training.listener.TrainingListener;
import java.util.Random;

/**
 * Direct preference optimisation (Rafailov et al. 2023, eq. 7) on pairs of the {@link
 * ReversalTask}: the chosen response is the correct reversal, the rejected one a wrong answer of
 * the same length. With {@code r(y) = log π(y|x) − log π_ref(y|x)} summed over the response tokens,
 * the loss is {@code −log σ(β · (r(y_w) − r(y_l)))}, averaged over the batch; {@code π_ref} is a
 * frozen copy of the policy taken when the stage starts.
 */
final class DpoStage extends StageTrainer {

  private final ReversalTask task;
  private final PostTrainingConfig config;
  private final ReferenceModel reference;
  private final Random rng;
  private double lastMargin = Double.NaN;
  private double lastAccuracy = Double.NaN;

  DpoStage(
      TinyLanguageModel policy,
      ReversalTask task,
      PostTrainingConfig config,
      TrainingListener... listeners) {
    super("dpo", policy, config.dpoLearningRate(), listeners);
    this.task = task;
    this.config = config;
    this.reference = ReferenceModel.copyOf(policy);
    this.rng = new Random(config.seed() ^ 0xD90L);
  }

  /** Preference pairs of the task: chosen and rejected sequences, padded to {@code width}. */
  record Pairs(int[][] chosen, int[][] rejected, float[][] mask) {
    Pairs {
      if (chosen.length != rejected.length || chosen.length != mask.length || chosen.length == 0) {
        throw new IllegalArgumentException(
            "dpo: "
                + chosen.length
                + " chosen, "
                + rejected.length
                + " rejected, "
                + mask.length
                + " masks; need equal, non-zero counts");
      }
      for (int i = 0; i < chosen.length; i++) {
        if (chosen[i].length != rejected[i].length) {
          throw new IllegalArgumentException(
              "dpo: pair " + i + " has responses of unequal length; the mask is shared");
        }
      }
      chosen = chosen.clone();
      rejected = rejected.clone();
      mask = mask.clone();
    }
  }

  static Pairs pairs(ReversalTask task, PostTrainingConfig config, Random rng, int n) {
    int width = 2 * config.maxSpan() + 3;
    int[][] chosen = new int[n][];
    int[][] rejected = new int[n][];
    float[][] mask = new float[n][];
    for (int i = 0; i < n; i++) {
      int k = config.minSpan() + rng.nextInt(config.maxSpan() - config.minSpan() + 1);
      ReversalTask.Example e = task.example(rng, k);
      chosen[i] = task.sequence(e, e.answer());
      rejected[i] = task.sequence(e, task.wrongAnswer(e, rng));
      mask[i] = SftStage.responseMask(k, width - 1);
    }
    return new Pairs(chosen, rejected, mask);
  }

  /** One step on a fresh batch of pairs; returns the DPO loss. */
  float step() {
    return step(pairs(task, config, rng, config.batchSize()));
  }

  /** One step on the given pairs (the test trains on a fixed set). */
  float step(Pairs p) {
    int n = p.chosen().length;
    int width = 2 * config.maxSpan() + 3;
    int[][] both = new int[2 * n][];
    float[][] mask = new float[2 * n][];
    for (int i = 0; i < n; i++) {
      both[i] = p.chosen()[i];
      both[n + i] = p.rejected()[i];
      mask[i] = p.mask()[i];
      mask[n + i] = p.mask()[i];
    }
    try (NDManager m = newBatchManager()) {
      NDArray all = tokens(m, both, width);
      NDArray inputs = all.get(":, :-1");
      NDArray targets = all.get(":, 1:");
      NDArray weights = floats(m, mask, width - 1);
      NDArray refLogp =
          tokenLogProbs(reference.logits(inputs), targets).mul(weights).sum(new int[] {1});
      float beta = config.dpoBeta();
      float[] margin = new float[1];
      float[] accuracy = new float[1];
      float loss =
          optimise(
              m,
              inputs,
              logits -> {
                NDArray logp = tokenLogProbs(logits, targets).mul(weights).sum(new int[] {1});
                NDArray ratio = logp.sub(refLogp);
                NDArray diff = ratio.get("0:{}", n).sub(ratio.get("{}:", n));
                float[] d = diff.toFloatArray();
                double sum = 0;
                int wins = 0;
                for (float v : d) {
                  sum += v;
                  wins += v > 0 ? 1 : 0;
                }
                margin[0] = (float) (sum / n);
                accuracy[0] = (float) wins / n;
                return negLogSigmoid(diff.mul(beta)).mean();
              });
      lastMargin = margin[0];
      lastAccuracy = accuracy[0];
      return loss;
    }
  }

  /** {@code −log σ(z) = softplus(−z) = max(−z, 0) + log(1 + e^{−|z|})}, stable for any z. */
  static NDArray negLogSigmoid(NDArray z) {
    return NDArrays.maximum(z.neg(), 0f).add(z.abs().neg().exp().add(1f).log());
  }

  /**
   * Mean over the last batch of {@code (log π(y_w) − log π_ref(y_w)) − (log π(y_l) − log
   * π_ref(y_l))}, without β.
   */
  double lastMargin() {
    return lastMargin;
  }

  /** Share of the last batch's pairs with a positive margin. */
  double lastAccuracy() {
    return lastAccuracy;
  }

  ReferenceModel reference() {
    return reference;
  }

  @Override
  public void close() {
    try {
      if (!reference.unchanged()) {
        throw new IllegalStateException("dpo: the frozen reference model changed during the stage");
      }
    } finally {
      reference.close();
      super.close();
    }
  }
}
