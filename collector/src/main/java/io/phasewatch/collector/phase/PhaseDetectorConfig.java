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
 * @param windowLogSteps width W of the regression window on the ln(step) axis
 * @param binsPerWindow observations are averaged into bins of width W / binsPerWindow on the
 *     ln(step) axis, which bounds memory however dense the series is
 * @param minPoints fewest observations a trend is estimated from; the window reaches back past W to
 *     find them while the series is sparse on the log axis (the start of a segment)
 * @param enterTrend |RankMe trend| needed to enter entropy- or compression-seeking (or warmup)
 * @param exitTrend |RankMe trend| below which such a phase is left (hysteresis: ≤ enterTrend)
 * @param enterSignificance |t| of the RankMe slope needed to enter a phase
 * @param exitSignificance |t| below which a phase is left (≤ enterSignificance)
 * @param alphaVetoTrend an α trend at least this large against RankMe's direction, and significant
 *     at enterSignificance, vetoes the phase RankMe indicates; {@link Double#POSITIVE_INFINITY}
 *     (the default) turns the veto off
 * @param minDurationPoints consecutive observations a new phase must be indicated before it is
 *     confirmed
 * @param minDurationLogSteps span on the ln(step) axis a new phase must be indicated before it is
 *     confirmed
 * @param steadyDurationLogSteps the span for a change to steady, longer because the smoothed trend
 *     passes through the dead band whenever the series turns (a V or Λ), and a turn is not a
 *     plateau
 * @param warmupSteps per stage: a collapse that begins within this many steps of the segment's
 *     origin, before any other trend, is labelled warmup; 0 means that stage has no warmup label
 */
public record PhaseDetectorConfig(
    double windowLogSteps,
    int binsPerWindow,
    int minPoints,
    double enterTrend,
    double exitTrend,
    double enterSignificance,
    double exitSignificance,
    double alphaVetoTrend,
    int minDurationPoints,
    double minDurationLogSteps,
    double steadyDurationLogSteps,
    Map<Stage, Long> warmupSteps) {

  public PhaseDetectorConfig {
    requireRange("windowLogSteps", windowLogSteps, 0.05, 10.0);
    requireRange("binsPerWindow", binsPerWindow, 2, 1024);
    requireRange("minPoints", minPoints, 3, 10_000);
    requireRange("enterTrend", enterTrend, 1e-6, 100.0);
    requireRange("exitTrend", exitTrend, 1e-6, enterTrend);
    requireRange("enterSignificance", enterSignificance, 0.0, 100.0);
    requireRange("exitSignificance", exitSignificance, 0.0, enterSignificance);
    requireRange("alphaVetoTrend", alphaVetoTrend, 1e-6, Double.POSITIVE_INFINITY);
    requireRange("minDurationPoints", minDurationPoints, 1, 100_000);
    requireRange("minDurationLogSteps", minDurationLogSteps, 0.0, 10.0);
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
   * The defaults, chosen on the small-model series of PHASES-EXPERIMENT.md and on synthetic series
   * with up to three times its probe noise (docs/phases.md explains each value).
   */
  public static PhaseDetectorConfig defaults() {
    EnumMap<Stage, Long> warmup = new EnumMap<>(Stage.class);
    warmup.put(Stage.PRETRAIN, 2_000L);
    // No α veto by default: at small d α rises through early entropy-seeking (docs/phases.md).
    return new PhaseDetectorConfig(
        0.7, 16, 8, 0.10, 0.05, 4.0, 2.0, Double.POSITIVE_INFINITY, 3, 0.2, 0.35, warmup);
  }

  /** The same configuration with α vetoing RankMe's direction at {@code trend} (docs/phases.md). */
  public PhaseDetectorConfig withAlphaVeto(double trend) {
    return new PhaseDetectorConfig(
        windowLogSteps,
        binsPerWindow,
        minPoints,
        enterTrend,
        exitTrend,
        enterSignificance,
        exitSignificance,
        trend,
        minDurationPoints,
        minDurationLogSteps,
        steadyDurationLogSteps,
        warmupSteps);
  }

  /** The same configuration with another warmup length for one stage. */
  public PhaseDetectorConfig withWarmupSteps(Stage stage, long steps) {
    EnumMap<Stage, Long> warmup = new EnumMap<>(warmupSteps);
    warmup.put(Objects.requireNonNull(stage, "stage"), steps);
    return new PhaseDetectorConfig(
        windowLogSteps,
        binsPerWindow,
        minPoints,
        enterTrend,
        exitTrend,
        enterSignificance,
        exitSignificance,
        alphaVetoTrend,
        minDurationPoints,
        minDurationLogSteps,
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
