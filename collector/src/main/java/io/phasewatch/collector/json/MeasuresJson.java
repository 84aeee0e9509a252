package io.phasewatch.collector.json;

import io.phasewatch.collector.metrics.LayerState;
import io.phasewatch.collector.metrics.MetricNames;
import io.phasewatch.collector.metrics.TrainingPoint;
import io.phasewatch.collector.phase.PhaseTransition;
import io.phasewatch.collector.spectrum.SpectralMeasures;
import io.phasewatch.core.wire.TrainingScalars;
import io.vertx.core.json.JsonObject;

/**
 * Writes the measures as JSON with one set of names. A measure that Prometheus exports is named as
 * its metric without the {@code phasewatch_} prefix ({@code phasewatch_alpha_fit_r2} → {@code
 * alpha_fit_r2}), so a field, a metric and a PromQL query read the same; the names below are
 * derived from {@link MetricNames}, not spelled twice. Non-finite numbers are {@code null} (JSON
 * has no NaN).
 */
public final class MeasuresJson {

  // Per window: the measures (names derived from the metrics that export them).
  public static final String EFFECTIVE_RANK = field(MetricNames.EFFECTIVE_RANK);
  public static final String EFFECTIVE_RANK_ERROR_BOUND =
      field(MetricNames.EFFECTIVE_RANK_ERROR_BOUND);
  public static final String EFFECTIVE_RANK_MAX = field(MetricNames.EFFECTIVE_RANK_MAX);
  public static final String ALPHA = field(MetricNames.ALPHA);
  public static final String ALPHA_ERROR_BOUND = field(MetricNames.ALPHA_ERROR_BOUND);
  public static final String ALPHA_FIT_R2 = field(MetricNames.ALPHA_FIT_R2);
  public static final String PARTICIPATION_RATIO = field(MetricNames.PARTICIPATION_RATIO);
  public static final String TOP1_VARIANCE_SHARE = field(MetricNames.TOP1_VARIANCE_SHARE);
  public static final String TOP10_VARIANCE_SHARE = field(MetricNames.TOP10_VARIANCE_SHARE);
  public static final String TOTAL_VARIANCE = field(MetricNames.TOTAL_VARIANCE);
  public static final String WINDOW_SAMPLES = field(MetricNames.WINDOW_SAMPLES);
  public static final String WINDOW_RANKS = field(MetricNames.WINDOW_RANKS);
  public static final String WINDOW_PARTIAL = field(MetricNames.WINDOW_PARTIAL);
  public static final String NONFINITE_ROWS = field(MetricNames.NONFINITE_ROWS);
  public static final String AGENT_SAMPLES_DROPPED = field(MetricNames.AGENT_SAMPLES_DROPPED);
  public static final String PHASE = field(MetricNames.PHASE);
  public static final String PHASE_SINCE_STEP = field(MetricNames.PHASE_SINCE_STEP);
  public static final String PHASE_CONFIRMED_STEP = field(MetricNames.PHASE_CONFIRMED_STEP);

  /**
   * The training point at (or nearest before) the phase's onset, whose scalars the {@code
   * phasewatch_phase_onset_training_*} gauges show; null when none is held.
   */
  public static final String PHASE_ONSET_TRAINING = "phase_onset_training";

  // Per window, with no metric of their own.
  public static final String DIMENSION = "dimension";
  public static final String ALPHA_FIT_FIRST = "alpha_fit_first";
  public static final String ALPHA_FIT_LAST = "alpha_fit_last";
  public static final String ALPHA_FIT_FALLBACK = "alpha_fit_fallback";
  public static final String ALPHA_NOTE = "alpha_note";
  public static final String SKETCH = "sketch";
  public static final String EFFECTIVE_RANK_LOW = "effective_rank_low";
  public static final String EFFECTIVE_RANK_HIGH = "effective_rank_high";
  public static final String ALPHA_LOW = "alpha_low";
  public static final String ALPHA_HIGH = "alpha_high";
  public static final String EFFECTIVE_RANK_SKETCH = "effective_rank_sketch";
  public static final String ALPHA_SKETCH = "alpha_sketch";

  // Where a window sits in a run.
  public static final String RUN = MetricNames.TAG_RUN;
  public static final String LAYER = MetricNames.TAG_LAYER;
  public static final String STAGE = MetricNames.TAG_STAGE;
  public static final String WINDOW = "window";
  public static final String STEP = "step";
  public static final String WORLD_SIZE = "world_size";

  /** Capture time of the window, epoch seconds (the metric is the latest window's). */
  public static final String WINDOW_TIMESTAMP_SECONDS = "window_timestamp_seconds";

  // A phase transition.
  public static final String FROM = MetricNames.TAG_FROM;
  public static final String TO = MetricNames.TAG_TO;
  public static final String RANK_TREND = "rank_trend";
  public static final String ALPHA_TREND = "alpha_trend";
  public static final String ONSET_STEP = "onset_step";

  private MeasuresJson() {}

  /** {@code phasewatch.alpha.fit.r2} → {@code alpha_fit_r2}. */
  static String field(String meterName) {
    return meterName.substring("phasewatch.".length()).replace('.', '_');
  }

  /** The measures of one spectrum. */
  public static JsonObject measures(SpectralMeasures m) {
    return new JsonObject()
        .put(WINDOW_SAMPLES, m.count())
        .put(DIMENSION, m.dimension())
        .put(SKETCH, m.kind().label())
        .put(EFFECTIVE_RANK, finite(m.effectiveRank()))
        .put(EFFECTIVE_RANK_ERROR_BOUND, finite(m.effectiveRankErrorBound()))
        .put(EFFECTIVE_RANK_LOW, finite(m.effectiveRankLow()))
        .put(EFFECTIVE_RANK_HIGH, finite(m.effectiveRankHigh()))
        .put(ALPHA, finite(m.alpha()))
        .put(ALPHA_ERROR_BOUND, finite(m.alphaErrorBound()))
        .put(ALPHA_LOW, finite(m.alphaLow()))
        .put(ALPHA_HIGH, finite(m.alphaHigh()))
        .put(ALPHA_FIT_R2, finite(m.alphaR2()))
        .put(ALPHA_FIT_FIRST, m.fitRange() == null ? null : m.fitRange().first())
        .put(ALPHA_FIT_LAST, m.fitRange() == null ? null : m.fitRange().last())
        .put(ALPHA_FIT_FALLBACK, m.fallbackWindow())
        .put(ALPHA_NOTE, m.alphaNote())
        .put(PARTICIPATION_RATIO, finite(m.participationRatio()))
        .put(TOP1_VARIANCE_SHARE, finite(m.top1Share()))
        .put(TOP10_VARIANCE_SHARE, finite(m.top10Share()))
        .put(TOTAL_VARIANCE, finite(m.totalVariance()))
        .put(EFFECTIVE_RANK_SKETCH, finite(m.sketchEffectiveRank()))
        .put(ALPHA_SKETCH, finite(m.sketchAlpha()));
  }

  /** One merged window of a layer: where it sits, the measures, and the phase after it. */
  public static JsonObject point(LayerState s) {
    return new JsonObject()
        .put(WINDOW, s.windowId())
        .put(STEP, s.step())
        .put(STAGE, s.stage().label())
        .put(WINDOW_TIMESTAMP_SECONDS, s.captureTimeMillis() / 1000.0)
        .put(WINDOW_RANKS, s.ranks())
        .put(WORLD_SIZE, s.worldSize())
        .put(WINDOW_PARTIAL, s.partial())
        .mergeIn(measures(s.measures()))
        .put(EFFECTIVE_RANK_MAX, finite(s.effectiveRankMax()))
        .put(NONFINITE_ROWS, s.nonFiniteRows())
        .put(AGENT_SAMPLES_DROPPED, s.samplesDropped())
        .put(PHASE, s.phase().label())
        .put(PHASE_SINCE_STEP, s.phaseSinceStep())
        .put(PHASE_CONFIRMED_STEP, s.phaseConfirmedStep())
        .put(
            PHASE_ONSET_TRAINING,
            s.phaseOnsetTraining() == null ? null : trainingPoint(s.phaseOnsetTraining()));
  }

  /** One window's training scalars with the weight of each (steps for the loss, else ranks). */
  public static JsonObject trainingPoint(TrainingPoint t) {
    JsonObject weights = new JsonObject();
    t.scalars().values().forEach((name, s) -> weights.put(name, s.weight()));
    return new JsonObject()
        .put(WINDOW, t.windowId())
        .put(STEP, t.step())
        .put(STAGE, t.stage().label())
        .put("ranks", t.ranks())
        .put("scalars", scalarValues(t.scalars()))
        .put("weights", weights);
  }

  /** Name → value of each scalar. */
  public static JsonObject scalarValues(TrainingScalars scalars) {
    JsonObject values = new JsonObject();
    scalars.values().forEach((name, s) -> values.put(name, s.value()));
    return values;
  }

  /** One phase transition. */
  public static JsonObject transition(PhaseTransition t) {
    return new JsonObject()
        .put(RUN, t.run())
        .put(LAYER, t.layer())
        .put(STAGE, t.stage().label())
        .put(FROM, t.from().label())
        .put(TO, t.to().label())
        .put(STEP, t.step())
        .put(ONSET_STEP, t.onsetStep())
        .put(RANK_TREND, finite(t.rankTrend()))
        .put(ALPHA_TREND, finite(t.alphaTrend()))
        .put(EFFECTIVE_RANK, finite(t.effectiveRank()))
        .put(ALPHA, finite(t.alpha()));
  }

  /** JSON has no NaN or infinities: a measure that does not exist is null. */
  public static Double finite(double v) {
    return Double.isFinite(v) ? v : null;
  }
}
