package io.phasewatch.demo.training;

/**
 * Settings of the post-training stages (see docs/post-training.md). One record for all three stages
 * so that the demo passes a single value; a stage ignores the fields of the others.
 *
 * @param sftSteps optimizer steps of the SFT stage
 * @param dpoSteps optimizer steps of the DPO stage
 * @param rlvrSteps optimizer steps of the RLVR stage
 * @param batchSize sequences per SFT step, preference pairs per DPO step, prompts per RLVR step
 * @param sftLearningRate peak AdamW learning rate of SFT (10-step warmup, then constant)
 * @param dpoLearningRate peak learning rate of DPO
 * @param rlvrLearningRate peak learning rate of RLVR
 * @param minSpan shortest span of the instruction task (SFT and DPO)
 * @param maxSpan longest span of the instruction task (SFT and DPO)
 * @param rlvrSpan span length of the RLVR prompts (fixed, so sampled responses align)
 * @param rlvrUniformSpans RLVR spans uniform over the corpus's ids instead of drawn from the corpus
 *     (no reward for always answering frequent tokens; for one-token spans)
 * @param dpoBeta β of the DPO loss
 * @param groupSize G, sampled responses per RLVR prompt
 * @param temperature sampling temperature of RLVR (training and evaluation)
 * @param klBeta weight of the KL penalty to the reference in RLVR; 0 turns it off
 * @param evalPrompts held-out examples per evaluation
 * @param evalSamples samples per prompt when RLVR reward and diversity are evaluated
 * @param seed seed of the task data and the sampling
 */
public record PostTrainingConfig(
    int sftSteps,
    int dpoSteps,
    int rlvrSteps,
    int batchSize,
    float sftLearningRate,
    float dpoLearningRate,
    float rlvrLearningRate,
    int minSpan,
    int maxSpan,
    int rlvrSpan,
    boolean rlvrUniformSpans,
    float dpoBeta,
    int groupSize,
    float temperature,
    float klBeta,
    int evalPrompts,
    int evalSamples,
    long seed) {

  static final int MAX_STEPS = 1_000_000;
  static final int MAX_BATCH = 1_024;
  static final int MAX_GROUP = 256;

  /** Bound on sequences sampled in one RLVR step ({@code batchSize × groupSize}). */
  static final int MAX_SAMPLED = 16_384;

  public PostTrainingConfig {
    checkRange("sftSteps", sftSteps, 0, MAX_STEPS);
    checkRange("dpoSteps", dpoSteps, 0, MAX_STEPS);
    checkRange("rlvrSteps", rlvrSteps, 0, MAX_STEPS);
    checkRange("batchSize", batchSize, 1, MAX_BATCH);
    checkRate("sftLearningRate", sftLearningRate);
    checkRate("dpoLearningRate", dpoLearningRate);
    checkRate("rlvrLearningRate", rlvrLearningRate);
    checkRange("minSpan", minSpan, 1, ModelConfig.MAX_CONTEXT);
    checkRange("maxSpan", maxSpan, minSpan, ModelConfig.MAX_CONTEXT);
    checkRange("rlvrSpan", rlvrSpan, 1, ModelConfig.MAX_CONTEXT);
    if (!(dpoBeta > 0f && dpoBeta <= 100f)) {
      throw new IllegalArgumentException(
          "post-training config: dpoBeta " + dpoBeta + " outside (0, 100]");
    }
    checkRange("groupSize", groupSize, 2, MAX_GROUP);
    if ((long) groupSize * batchSize > MAX_SAMPLED) {
      throw new IllegalArgumentException(
          "post-training config: batchSize × groupSize "
              + (long) groupSize * batchSize
              + " exceeds "
              + MAX_SAMPLED);
    }
    if (!(temperature > 0f && temperature <= 10f)) {
      throw new IllegalArgumentException(
          "post-training config: temperature " + temperature + " outside (0, 10]");
    }
    if (!(klBeta >= 0f && klBeta <= 10f)) {
      throw new IllegalArgumentException(
          "post-training config: klBeta " + klBeta + " outside [0, 10]");
    }
    checkRange("evalPrompts", evalPrompts, 1, 4_096);
    checkRange("evalSamples", evalSamples, 1, MAX_GROUP);
  }

  /** The demo's settings: the three stages together take about a minute on one core. */
  public static PostTrainingConfig demoDefaults() {
    return new PostTrainingConfig(
        300, 200, 200, 16, 1e-3f, 1e-4f, 5e-4f, 3, 8, 3, false, 0.1f, 8, 1.0f, 0.04f, 128, 16, 7L);
  }

  /** This configuration with other stage lengths. */
  public PostTrainingConfig withSteps(int sft, int dpo, int rlvr) {
    return new PostTrainingConfig(
        sft,
        dpo,
        rlvr,
        batchSize,
        sftLearningRate,
        dpoLearningRate,
        rlvrLearningRate,
        minSpan,
        maxSpan,
        rlvrSpan,
        rlvrUniformSpans,
        dpoBeta,
        groupSize,
        temperature,
        klBeta,
        evalPrompts,
        evalSamples,
        seed);
  }

  /** Longest sequence a stage feeds the model: prompt marker, span, response marker, span, end. */
  int longestSequence() {
    return 2 * Math.max(maxSpan, rlvrSpan) + 3;
  }

  private static void checkRange(String field, long value, long min, long max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          "post-training config: " + field + " " + value + " outside [" + min + ", " + max + "]");
    }
  }

  private static void checkRate(String field, float value) {
    if (!(value > 0f && value <= 1f)) {
      throw new IllegalArgumentException(
          "post-training config: " + field + " " + value + " outside (0, 1]");
    }
  }
}
