package io.phasewatch.collector.phase;

import io.phasewatch.core.wire.Stage;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;

/**
 * Parameters of {@link PhaseDetector}; docs/phases.md gives each one's meaning, default and the
 * reason for the default. Trends are relative changes per unit of ln(step): a trend of 0.1 means
 * the smoothed value grows by about 10 % each time the step count is multiplied by e.
 *
 * @param binLogSteps observations are pooled into bins of this width on the ln(step) axis, which
 *     bounds memory however dense the series is; a turn is placed at a bin's last observation
 * @param horizonLogSteps how far back on the ln(step) axis the current regime is fitted, at most
 * @param minPoints fewest observations a regime (the line since the last turn) is fitted from
 * @param enterTrend |RankMe trend| needed to enter entropy- or compression-seeking (or warmup)
 * @param exitTrend |RankMe trend| below which such a phase is left (hysteresis: ≤ enterTrend)
 * @param enterSignificance significance of the RankMe slope needed to enter a phase, as a normal
 *     deviate: with few observations the Student-t value of the same tail probability applies
 * @param exitSignificance significance below which a phase is left (≤ enterSignificance)
 * @param turnSignificance significance of a change of slope for the series to count as turned
 * @param minEffect the fitted change of RankMe since the regime's onset must be at least this many
 *     noise standard deviations to enter a phase
 * @param minChange ... and at least this fraction of RankMe at the onset
 * @param minSpanLogSteps ... over at least this span of the ln(step) axis since the onset: a jump
 *     between two windows (a loss spike) is not a phase
 * @param noiseFloor the noise standard deviation is taken as at least this fraction of RankMe, so
 *     that a nearly noiseless or very short series does not make every wiggle significant
 * @param alphaVetoTrend an α trend at least this large against RankMe's direction, and significant
 *     at enterSignificance, vetoes the phase RankMe indicates; {@link Double#POSITIVE_INFINITY}
 *     (the default) turns the veto off
 * @param steadyDurationLogSteps span on the ln(step) axis a flat regime must last after a turn
 *     before a phase is left for steady
 * @param warmupSteps per stage: a collapse from the segment's starting level, before any other
 *     phase, whose onset lies within this many steps of the segment's origin, is warmup; 0 means
 *     that stage has no warmup label
 */
public record PhaseDetectorConfig(
    double binLogSteps,
    double horizonLogSteps,
    int minPoints,
    double enterTrend,
    double exitTrend,
    double enterSignificance,
    double exitSignificance,
    double turnSignificance,
    double minEffect,
    double minChange,
    double minSpanLogSteps,
    double noiseFloor,
    double alphaVetoTrend,
    double steadyDurationLogSteps,
    Map<Stage, Long> warmupSteps) {

  public PhaseDetectorConfig {
    requireRange("binLogSteps", binLogSteps, 0.001, 1.0);
    requireRange("horizonLogSteps", horizonLogSteps, 0.1, 20.0);
    if (horizonLogSteps / binLogSteps > 4096) {
      throw new IllegalArgumentException(
          "phase detector config: horizonLogSteps "
              + horizonLogSteps
              + " over binLogSteps "
              + binLogSteps
              + " exceeds 4096 bins");
    }
    requireRange("minPoints", minPoints, 3, 10_000);
    requireRange("enterTrend", enterTrend, 1e-6, 100.0);
    requireRange("exitTrend", exitTrend, 1e-6, enterTrend);
    requireRange("enterSignificance", enterSignificance, 0.0, 30.0);
    requireRange("exitSignificance", exitSignificance, 0.0, enterSignificance);
    requireRange("turnSignificance", turnSignificance, 0.0, 30.0);
    requireRange("minEffect", minEffect, 0.0, 1000.0);
    requireRange("minChange", minChange, 0.0, 10.0);
    requireRange("minSpanLogSteps", minSpanLogSteps, 0.0, 10.0);
    requireRange("noiseFloor", noiseFloor, 0.0, 1.0);
    requireRange("alphaVetoTrend", alphaVetoTrend, 1e-6, Double.POSITIVE_INFINITY);
    requireRange("steadyDurationLogSteps", steadyDurationLogSteps, 0.0, 10.0);
    Objects.requireNonNull(warmupSteps, "warmupSteps");
    EnumMap<Stage, Long> copy = new EnumMap<>(Stage.class);
    for (Stage s : Stage.values()) {
      Long steps = warmupSteps.getOrDefault(s, 0L);
      if (steps == null || steps < 0) {
        throw new IllegalArgumentException(
            "phase detector config: warmupSteps." + s.label() + " " + steps + " must be ≥ 0");
      }
      copy.put(s, steps);
    }
    warmupSteps = Map.copyOf(copy);
  }

  /**
   * The defaults, chosen on recorded real series (docs/phases.md) and on synthetic series with up
   * to three times the small model's probe noise.
   */
  public static PhaseDetectorConfig defaults() {
    EnumMap<Stage, Long> warmup = new EnumMap<>(Stage.class);
    warmup.put(Stage.PRETRAIN, 2_000L);
    // No α veto by default: at small d α rises through early entropy-seeking (docs/phases.md).
    return new PhaseDetectorConfig(
        0.04,
        4.0,
        4,
        0.10,
        0.05,
        6.0,
        2.0,
        3.0,
        3.0,
        0.10,
        0.15,
        0.01,
        Double.POSITIVE_INFINITY,
        0.35,
        warmup);
  }

  /** The same configuration with α vetoing RankMe's direction at {@code trend} (docs/phases.md). */
  public PhaseDetectorConfig withAlphaVeto(double trend) {
    return new PhaseDetectorConfig(
        binLogSteps,
        horizonLogSteps,
        minPoints,
        enterTrend,
        exitTrend,
        enterSignificance,
        exitSignificance,
        turnSignificance,
        minEffect,
        minChange,
        minSpanLogSteps,
        noiseFloor,
        trend,
        steadyDurationLogSteps,
        warmupSteps);
  }

  /** The same configuration with another warmup length for one stage. */
  public PhaseDetectorConfig withWarmupSteps(Stage stage, long steps) {
    EnumMap<Stage, Long> warmup = new EnumMap<>(warmupSteps);
    warmup.put(Objects.requireNonNull(stage, "stage"), steps);
    return new PhaseDetectorConfig(
        binLogSteps,
        horizonLogSteps,
        minPoints,
        enterTrend,
        exitTrend,
        enterSignificance,
        exitSignificance,
        turnSignificance,
        minEffect,
        minChange,
        minSpanLogSteps,
        noiseFloor,
        alphaVetoTrend,
        steadyDurationLogSteps,
        warmup);
  }

  /** Steps from a segment's origin within which a collapse counts as warmup for {@code stage}. */
  public long warmupSteps(Stage stage) {
    return warmupSteps.get(Objects.requireNonNull(stage, "stage"));
  }

  private static void requireRange(String name, int value, int min, int max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          "phase detector config: " + name + " " + value + " outside [" + min + ", " + max + "]");
    }
  }

  private static void requireRange(String name, double value, double min, double max) {
    if (!(value >= min && value <= max)) {
      throw new IllegalArgumentException(
          "phase detector config: " + name + " " + value + " outside [" + min + ", " + max + "]");
    }
  }
}
