package io.phasewatch.demo.training;

import java.util.Locale;

/**
 * Shape and optimisation settings of the {@link TinyLanguageModel}.
 *
 * <p>The defaults are chosen for the demo (see docs/demo-science.md): {@code d_model = 128} so that
 * the study's α window (ranks 12…100) exists, a vocabulary four times wider than the model ({@code
 * d ≪ |V|}, the bottleneck the study ties the phases to), and a size that trains a few steps a
 * second on one core.
 *
 * @param totalSteps the horizon of the cosine schedule (ignored by {@code constant})
 * @param beta2 AdamW's second-moment decay (DJL's default 0.999; the grokking setting uses 0.98)
 */
public record ModelConfig(
    int vocabSize,
    int dModel,
    int layers,
    int heads,
    int contextLength,
    int batchSize,
    float learningRate,
    int warmupSteps,
    Schedule schedule,
    float weightDecay,
    long seed,
    int totalSteps,
    float beta2) {

  /** Learning-rate schedule after the linear warmup. */
  public enum Schedule {
    CONSTANT,
    /** Cosine decay from the peak to 10 % of it at {@code totalSteps}. */
    COSINE;

    /** Parses {@code constant} or {@code cosine}, case-insensitively. */
    public static Schedule parse(String text) {
      try {
        return valueOf(text.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "model config: schedule '" + text + "' is not one of constant, cosine", e);
      }
    }
  }

  static final int MAX_VOCAB = 65_536;
  static final int MAX_D_MODEL = 4_096;
  static final int MAX_CONTEXT = 4_096;

  public ModelConfig {
    checkRange("vocabSize", vocabSize, 2, MAX_VOCAB);
    checkRange("dModel", dModel, 2, MAX_D_MODEL);
    checkRange("layers", layers, 1, 64);
    checkRange("heads", heads, 1, dModel);
    if (dModel % heads != 0) {
      throw new IllegalArgumentException(
          "model config: dModel " + dModel + " is not a multiple of heads " + heads);
    }
    checkRange("contextLength", contextLength, 2, MAX_CONTEXT);
    checkRange("batchSize", batchSize, 1, 65_536);
    if (!(learningRate > 0f && learningRate <= 1f)) {
      throw new IllegalArgumentException(
          "model config: learningRate " + learningRate + " outside (0, 1]");
    }
    checkRange("warmupSteps", warmupSteps, 0, Integer.MAX_VALUE);
    if (schedule == null) {
      throw new IllegalArgumentException("model config: schedule is missing");
    }
    // Decoupled decay (AdamW) multiplies by lr: 1.0 is the grokking setting, not a bound.
    if (!(weightDecay >= 0f && weightDecay <= 10f)) {
      throw new IllegalArgumentException(
          "model config: weightDecay " + weightDecay + " outside [0, 10]");
    }
    checkRange("totalSteps", totalSteps, 1, Integer.MAX_VALUE);
    if (!(beta2 > 0f && beta2 < 1f)) {
      throw new IllegalArgumentException("model config: beta2 " + beta2 + " outside (0, 1)");
    }
  }

  /** The demo's defaults. */
  public static ModelConfig demoDefaults() {
    return new ModelConfig(
        512, 128, 2, 4, 64, 16, 3e-3f, 100, Schedule.COSINE, 0.1f, 42L, 1_500, 0.999f);
  }

  /**
   * The modular-addition demo's model for modulus {@code p} (docs/demo-science.md): one pre-LN
   * block, d = 128, 4 heads, vocabulary {@code p + 1}, context 3 ({@code a b =}), batch 512, AdamW
   * with weight decay 1 and β₂ 0.98 — the grokking setting — at a constant lr of 2e-3 (twice the
   * usual 1e-3: held-out accuracy jumps in half the steps) after a 10-step warmup.
   */
  public static ModelConfig modularDefaults(int p) {
    return new ModelConfig(
        p + 1, 128, 1, 4, 3, 512, 2e-3f, 10, Schedule.CONSTANT, 1.0f, 42L, 1_500, 0.98f);
  }

  public ModelConfig withVocabSize(int v) {
    return new ModelConfig(
        v,
        dModel,
        layers,
        heads,
        contextLength,
        batchSize,
        learningRate,
        warmupSteps,
        schedule,
        weightDecay,
        seed,
        totalSteps,
        beta2);
  }

  public ModelConfig withDModel(int d, int h) {
    return new ModelConfig(
        vocabSize,
        d,
        layers,
        h,
        contextLength,
        batchSize,
        learningRate,
        warmupSteps,
        schedule,
        weightDecay,
        seed,
        totalSteps,
        beta2);
  }

  public ModelConfig withLayers(int n) {
    return new ModelConfig(
        vocabSize,
        dModel,
        n,
        heads,
        contextLength,
        batchSize,
        learningRate,
        warmupSteps,
        schedule,
        weightDecay,
        seed,
        totalSteps,
        beta2);
  }

  public ModelConfig withShape(int context, int batch) {
    return new ModelConfig(
        vocabSize,
        dModel,
        layers,
        heads,
        context,
        batch,
        learningRate,
        warmupSteps,
        schedule,
        weightDecay,
        seed,
        totalSteps,
        beta2);
  }

  public ModelConfig withSchedule(float lr, int warmup, Schedule s, int total) {
    return new ModelConfig(
        vocabSize,
        dModel,
        layers,
        heads,
        contextLength,
        batchSize,
        lr,
        warmup,
        s,
        weightDecay,
        seed,
        total,
        beta2);
  }

  /** AdamW's decoupled weight decay and second-moment decay. */
  public ModelConfig withOptimizer(float decay, float b2) {
    return new ModelConfig(
        vocabSize,
        dModel,
        layers,
        heads,
        contextLength,
        batchSize,
        learningRate,
        warmupSteps,
        schedule,
        decay,
        seed,
        totalSteps,
        b2);
  }

  public ModelConfig withSeed(long s) {
    return new ModelConfig(
        vocabSize,
        dModel,
        layers,
        heads,
        contextLength,
        batchSize,
        learningRate,
        warmupSteps,
        schedule,
        weightDecay,
        s,
        totalSteps,
        beta2);
  }

  /**
   * Learning rate for the 1-based optimizer update {@code update}: linear warmup from {@code lr /
   * warmup} to {@code lr}, then constant or cosine down to {@code 0.1 · lr} at {@code totalSteps}.
   */
  public float learningRateAt(int update) {
    int u = Math.max(1, update);
    if (u <= warmupSteps) {
      return learningRate * u / warmupSteps;
    }
    if (schedule == Schedule.CONSTANT || totalSteps <= warmupSteps) {
      return learningRate;
    }
    double progress = Math.min(1.0, (double) (u - warmupSteps) / (totalSteps - warmupSteps));
    double floor = 0.1;
    return (float)
        (learningRate * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * progress))));
  }

  private static void checkRange(String field, long value, long min, long max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          "model config: " + field + " " + value + " outside [" + min + ", " + max + "]");
    }
  }
}
