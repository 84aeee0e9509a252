package io.phasewatch.collector.metrics;

/**
 * The one home of the metric names of docs/metrics.md. Micrometer dot names; the Prometheus naming
 * convention renders them with underscores, adds {@code _total} to counters and the base unit
 * {@code _seconds} to timers and to gauges whose base unit is seconds.
 */
public final class MetricNames {

  // Per (run, layer): the measures of the latest merged window.
  public static final String EFFECTIVE_RANK = "phasewatch.effective.rank";
  public static final String EFFECTIVE_RANK_ERROR_BOUND = "phasewatch.effective.rank.error.bound";
  public static final String EFFECTIVE_RANK_MAX = "phasewatch.effective.rank.max";
  public static final String ALPHA = "phasewatch.alpha";
  public static final String ALPHA_ERROR_BOUND = "phasewatch.alpha.error.bound";
  public static final String ALPHA_FIT_R2 = "phasewatch.alpha.fit.r2";
  public static final String PARTICIPATION_RATIO = "phasewatch.participation.ratio";
  public static final String TOP1_VARIANCE_SHARE = "phasewatch.top1.variance.share";
  public static final String TOP10_VARIANCE_SHARE = "phasewatch.top10.variance.share";
  public static final String TOTAL_VARIANCE = "phasewatch.total.variance";
  public static final String WINDOW_SAMPLES = "phasewatch.window.samples";
  public static final String DIMENSION = "phasewatch.dimension";
  public static final String WINDOW_RANKS = "phasewatch.window.ranks";
  public static final String WINDOW_PARTIAL = "phasewatch.window.partial";
  public static final String LAST_STEP = "phasewatch.last.step";

  /** Base unit seconds: rendered {@code phasewatch_last_window_timestamp_seconds}. */
  public static final String LAST_WINDOW_TIMESTAMP = "phasewatch.last.window.timestamp";

  public static final String PHASE = "phasewatch.phase";
  public static final String PHASE_SINCE_STEP = "phasewatch.phase.since.step";
  public static final String PHASE_CONFIRMED_STEP = "phasewatch.phase.confirmed.step";

  /** Counter: rendered {@code phasewatch_phase_transitions_total}. */
  public static final String PHASE_TRANSITIONS = "phasewatch.phase.transitions";

  public static final String AGENT_SAMPLES_DROPPED = "phasewatch.agent.samples.dropped";
  public static final String NONFINITE_ROWS = "phasewatch.nonfinite.rows";

  // Per run: the training scalars that travelled with the latest windows (docs/metrics.md).
  public static final String TRAINING_LOSS = "phasewatch.training.loss";
  public static final String TRAINING_LEARNING_RATE = "phasewatch.training.learning.rate";
  public static final String TRAINING_SCALAR = "phasewatch.training.scalar";
  public static final String TRAINING_SCALARS_STEP = "phasewatch.training.scalars.step";

  // Per (run, layer): the training scalars of the window at (or nearest before) the current phase's
  // onset, so an alert raised at confirmation shows what the run looked like when the phase began.
  public static final String PHASE_ONSET_TRAINING_LOSS = "phasewatch.phase.onset.training.loss";
  public static final String PHASE_ONSET_TRAINING_LEARNING_RATE =
      "phasewatch.phase.onset.training.learning.rate";
  public static final String PHASE_ONSET_TRAINING_SCALAR = "phasewatch.phase.onset.training.scalar";
  public static final String PHASE_ONSET_TRAINING_STEP = "phasewatch.phase.onset.training.step";

  // Collector health.
  public static final String SNAPSHOTS_INGESTED = "phasewatch.snapshots.ingested";
  public static final String RECORDS_REJECTED = "phasewatch.records.rejected";
  public static final String SNAPSHOTS_DUPLICATE = "phasewatch.snapshots.duplicate";
  public static final String MERGES = "phasewatch.merges";

  /** Timer: rendered as the summary {@code phasewatch_merge_wait_seconds}. */
  public static final String MERGE_WAIT = "phasewatch.merge.wait";

  /** Timer: rendered as the summary {@code phasewatch_spectrum_seconds}. */
  public static final String SPECTRUM = "phasewatch.spectrum";

  /** Base unit seconds: rendered {@code phasewatch_ingest_lag_seconds}. */
  public static final String INGEST_LAG = "phasewatch.ingest.lag";

  public static final String CONSUMER_LAG_RECORDS = "phasewatch.consumer.lag.records";
  public static final String RUNS_LIVE = "phasewatch.runs.live";

  /** Counter: rendered {@code phasewatch_runs_evicted_total}. */
  public static final String RUNS_EVICTED = "phasewatch.runs.evicted";

  public static final String CONSUMER_READY = "phasewatch.consumer.ready";

  // Labels.
  public static final String TAG_RUN = "run";
  public static final String TAG_LAYER = "layer";
  public static final String TAG_STAGE = "stage";
  public static final String TAG_PHASE = "phase";
  public static final String TAG_FROM = "from";
  public static final String TAG_TO = "to";
  public static final String TAG_REASON = "reason";
  public static final String TAG_COMPLETE = "complete";
  public static final String TAG_KIND = "kind";
  public static final String TAG_NAME = "name";

  private MetricNames() {}
}
