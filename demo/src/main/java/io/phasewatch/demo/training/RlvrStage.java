package io.phasewatch.demo.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.listener.TrainingListener;
import java.util.Random;

/**
 * Reinforcement learning with a verifiable reward, GRPO-style (Shao et al. 2024, DeepSeekMath
 * §4.1): for each of {@code batchSize} prompts of the {@link ReversalTask} (spans from the corpus,
 * or uniform over its ids with {@code rlvrUniformSpans}) the policy samples {@code G} responses of
 * {@code rlvrSpan} tokens autoregressively at the configured temperature; the reward is 1 for an
 * exact reversal and 0 otherwise; each response's advantage is its reward normalised within its
 * group, {@code A = (r − mean) / (std + 1e-4)} (0 when the group agrees). One on-policy update per
 * batch, so GRPO's clipped ratio is 1 and its objective is the policy gradient {@code −mean_i A_i ·
 * mean_t log π(o_{i,t})}, plus {@code klBeta} times GRPO's KL estimator {@code π_ref/π −
 * log(π_ref/π) − 1} per sampled token against a frozen copy of the policy taken when the stage
 * starts.
 */
final class RlvrStage extends StageTrainer {

  private final ReversalTask task;
  private final PostTrainingConfig config;
  private final ReferenceModel reference;
  private final Random rng;
  private double lastReward = Double.NaN;

  RlvrStage(
      TinyLanguageModel policy,
      ReversalTask task,
      PostTrainingConfig config,
      TrainingListener... listeners) {
    super("rlvr", policy, config.rlvrLearningRate(), listeners);
    this.task = task;
    this.config = config;
    this.reference = config.klBeta() > 0 ? ReferenceModel.copyOf(policy) : null;
    this.rng = new Random(config.seed() ^ 0x41F7L);
  }

  /**
   * One step: sample, score, update. Returns the loss; {@link #lastReward()} the batch's reward.
   */
  float step() {
    int prompts = config.batchSize();
    int g = config.groupSize();
    int k = config.rlvrSpan();
    int n = prompts * g;
    ReversalTask.Example[] examples = new ReversalTask.Example[prompts];
    int[][] starts = new int[n][];
    for (int p = 0; p < prompts; p++) {
      examples[p] = config.rlvrUniformSpans() ? task.uniformExample(rng, k) : task.example(rng, k);
      int[] prompt = task.prompt(examples[p]);
      for (int j = 0; j < g; j++) {
        starts[p * g + j] = prompt;
      }
    }
    int[][] sequences = Sampler.sample(block, starts, k, config.temperature(), rng);
    float[] reward = new float[n];
    double total = 0;
    for (int i = 0; i < n; i++) {
      int[] response = java.util.Arrays.copyOfRange(sequences[i], k + 2, 2 * k + 2);
      reward[i] = task.isCorrect(examples[i / g], response) ? 1f : 0f;
      total += reward[i];
    }
    lastReward = total / n;
    float[] advantage = groupAdvantages(reward, g);
    int width = 2 * k + 2;
    float[][] mask = new float[n][];
    for (int i = 0; i < n; i++) {
      mask[i] = new float[width - 1];
      // Targets j + 1 = k + 2 … 2k + 1 are the sampled tokens.
      for (int j = k + 1; j <= 2 * k; j++) {
        mask[i][j] = 1f;
      }
    }
    try (NDManager m = newBatchManager()) {
      NDArray all = tokens(m, sequences, width);
      NDArray inputs = all.get(":, :-1");
      NDArray targets = all.get(":, 1:");
      NDArray weights = floats(m, mask, width - 1);
      NDArray adv = m.create(advantage).expandDims(1);
      NDArray refLogp = reference == null ? null : tokenLogProbs(reference.logits(inputs), targets);
      float tokensInBatch = (float) n * k;
      float beta = config.klBeta();
      boolean anySignal = false;
      for (float x : advantage) {
        anySignal |= x != 0f;
      }
      // Every group agreed (all right or all wrong): the policy gradient is zero, and so is the
      // KL term's while the policy still equals the reference. The step counts, no update is made.
      boolean update = anySignal || (reference != null && updates() > 0);
      return optimise(
          m,
          inputs,
          logits -> {
            NDArray logp = tokenLogProbs(logits, targets);
            NDArray pg = logp.mul(adv).mul(weights).sum().neg().div(tokensInBatch);
            if (refLogp == null) {
              return pg;
            }
            NDArray delta = refLogp.sub(logp);
            NDArray kl = delta.exp().sub(delta).sub(1f).mul(weights).sum().div(tokensInBatch);
            return pg.add(kl.mul(beta));
          },
          update);
    }
  }

  /**
   * {@code (r − mean) / (std + 1e-4)} within each consecutive group of {@code g} rewards; the
   * population standard deviation, as GRPO's reference implementation.
   */
  static float[] groupAdvantages(float[] reward, int g) {
    if (reward.length % g != 0) {
      throw new IllegalArgumentException(
          "rlvr: " + reward.length + " rewards are not groups of " + g);
    }
    float[] a = new float[reward.length];
    for (int start = 0; start < reward.length; start += g) {
      double mean = 0;
      for (int i = start; i < start + g; i++) {
        mean += reward[i];
      }
      mean /= g;
      double var = 0;
      for (int i = start; i < start + g; i++) {
        var += (reward[i] - mean) * (reward[i] - mean);
      }
      double std = Math.sqrt(var / g);
      for (int i = start; i < start + g; i++) {
        a[i] = (float) ((reward[i] - mean) / (std + 1e-4));
      }
    }
    return a;
  }

  /** Mean reward (exact-match rate) of the last step's samples. */
  double lastReward() {
    return lastReward;
  }

  @Override
  public void close() {
    try {
      if (reference != null && !reference.unchanged()) {
        throw new IllegalStateException(
            "rlvr: the frozen reference model changed during the stage");
      }
    } finally {
      if (reference != null) {
        reference.close();
      }
      super.close();
    }
  }
}
