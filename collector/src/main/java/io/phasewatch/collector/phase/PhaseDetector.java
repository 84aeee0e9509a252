package io.phasewatch.collector.phase;

import io.phasewatch.core.wire.Stage;
import java.util.EnumMap;
import java.util.List;
import java.util.Objects;

/**
 * Labels the learning phase of one (run, layer) from its series of (stage, step, RankMe, α); the
 * algorithm is in docs/phases.md. Not thread-safe: one detector belongs to one thread (the
 * collector feeds each (run, layer) in order).
 *
 * <p>The series is cut into segments, one per stage. Within a segment each observation is placed at
 * x = ln(1 + step − origin). At every observation the detector fits the current regime: the trend
 * since the series last turned, found as the best knot of a continuous broken line over the data
 * since the onset of the current phase ({@link LogStepWindow}). A new phase is confirmed as soon as
 * the evidence for it is strong enough — a RankMe trend large relative to its level, significant
 * for the number of observations it rests on, and a fitted change since the turn that stands out of
 * the noise — and its onset is the turn, not the observation that confirmed it.
 *
 * <p>A rise at the start of a segment too short to carry a phase of its own (two or three windows
 * at a sparse probe) is labelled when the fall from its top is: the compression that the fall
 * confirms comes with the entropy-seeking phase before it, from the segment's first window to the
 * turn, confirmed at the same step.
 */
public final class PhaseDetector {

  /**
   * Weight, in degrees of freedom, of the prior belief about the noise ({@link LogStepWindow}), as
   * much as 18 windows' second differences: enough that a collapse or rise seen in only two or
   * three windows at a probe every 50 steps (the language model's, docs/phases.md) can carry a
   * phase, small enough that a noisy series is judged on its own noise within a few dozen windows.
   * With 6 those were never labelled (the Student-t value for 6σ at 7–10 degrees of freedom is
   * 20–39); 12 at 1.5 × the floor kept the stationary-noise property (3 in 4,000 series, bound 4)
   * where 20 at 2 × the floor did not (6).
   */
  private static final int PRIOR_DOF = 12;

  /**
   * The noise the prior believes in, as a multiple of the floor: 1.5 % of RankMe, the probe noise
   * measured at d = 64 (RankMe s.d. ≈ 0.35 at RankMe ≈ 25, PHASES-EXPERIMENT.md). The floor itself
   * stays a lower bound that the estimate never goes below.
   */
  private static final double PRIOR_NOISE = 1.5;

  private final String run;
  private final String layer;
  private final PhaseDetectorConfig config;
  private final LogStepWindow window;
  private final double[] enterCritical;
  private final double[] exitCritical;
  private final double[] turnCritical;

  /** Last accepted step of each stage seen: tells a replay of an old stage from a new segment. */
  private final EnumMap<Stage, Long> lastStepByStage = new EnumMap<>(Stage.class);

  private Stage stage = Stage.PRETRAIN;
  private boolean started;
  private long origin;
  private long lastStep = -1;
  private Phase current = Phase.STEADY;
  private long phaseSince = -1;
  private long phaseConfirmed = -1;

  /** x of the current phase's onset: the regime is fitted from there on. */
  private double anchorX;

  /** RankMe at the first observation of the segment: a warmup collapses from this level. */
  private double firstRank = Double.NaN;

  /** α and x at the first observation of the segment: the trends of a rise seen in retrospect. */
  private double firstAlpha = Double.NaN;

  private double firstX;

  /** True while the segment has been steady since its first observation. */
  private boolean steadySinceStart;

  /** True once the segment has been entropy- or compression-seeking: no warmup after that. */
  private boolean warmupClosed;

  /** True while the current steady is one entered at the peak of an entropy-seeking rise. */
  private boolean peakSteady;

  private long ignoredNonFinite;
  private long ignoredStale;

  public PhaseDetector(String run, String layer, PhaseDetectorConfig config) {
    this.run = Objects.requireNonNull(run, "run");
    this.layer = Objects.requireNonNull(layer, "layer");
    this.config = Objects.requireNonNull(config, "config");
    this.window =
        new LogStepWindow(
            config.binLogSteps(),
            config.horizonLogSteps(),
            config.minPoints(),
            config.noiseFloor(),
            PRIOR_DOF,
            PRIOR_NOISE);
    this.enterCritical = StudentT.criticalValues(config.enterSignificance());
    this.exitCritical = StudentT.criticalValues(config.exitSignificance());
    this.turnCritical = StudentT.criticalValues(config.turnSignificance());
  }

  /**
   * Feeds one measurement. Returns the transitions it confirmed, oldest first: none, one, or — when
   * the fall from the top of a rise that was too short to be labelled on its own is confirmed — the
   * entropy-seeking phase of that rise followed by the compression-seeking phase that ends it.
   * Observations with a non-finite RankMe or α, or a RankMe that is not positive (it is at least 1
   * by definition), are ignored and counted ({@link #ignoredNonFinite()}); so are steps at or
   * before the last accepted step of their stage, which is what a producer's restart replays
   * ({@link #ignoredStale()}).
   */
  public List<PhaseTransition> observe(Stage stage, long step, double effectiveRank, double alpha) {
    Objects.requireNonNull(stage, "stage");
    if (step < 0) {
      throw new IllegalArgumentException(
          "phase detector: step " + step + " is negative (run=" + run + ", layer=" + layer + ")");
    }
    if (!(effectiveRank > 0) || !Double.isFinite(effectiveRank) || !Double.isFinite(alpha)) {
      ignoredNonFinite++;
      return List.of();
    }
    Long lastOfStage = lastStepByStage.get(stage);
    if (lastOfStage != null && step <= lastOfStage) {
      ignoredStale++;
      return List.of();
    }
    if (!started || stage != this.stage) {
      startSegment(stage, step, effectiveRank, alpha);
    }
    lastStep = step;
    lastStepByStage.put(stage, step);

    double x = Math.log1p((double) (step - origin));
    // RankMe is fitted as ln RankMe: its phases are relative changes (a collapse and a rise are
    // close to exponential in ln(step)), so a slope is directly the relative trend per e-fold.
    window.add(x, step, Math.log(effectiveRank), alpha);
    LogStepWindow.Regime regime = window.regime(anchorX, turnCritical);
    if (regime == null) {
      return List.of();
    }
    Phase candidate = candidate(regime);
    if (candidate == current) {
      return List.of();
    }
    // A compression confirmed in the segment's first steady, from a turn the series rose to, ends
    // a rise nothing labelled: that rise was entropy-seeking, from the first window to the turn.
    PhaseTransition rise =
        candidate == Phase.COMPRESSION_SEEKING
                && steadySinceStart
                && regime.knotted()
                && roseToTurn(regime, Math.max(regime.rank().noise(), config.noiseFloor()))
            ? riseBefore(regime, step, effectiveRank, alpha)
            : null;
    if (rise != null) {
      current = Phase.ENTROPY_SEEKING; // the compression below leaves the rise
    }
    // A change to steady without a turn (the line since the onset has merely lost significance)
    // began no earlier than now; every other change began at the regime's onset.
    long onset =
        candidate == Phase.STEADY && !regime.knotted()
            ? step
            : Math.max(regime.onsetStep(), origin);
    PhaseTransition t =
        new PhaseTransition(
            run,
            layer,
            stage,
            current,
            candidate,
            step,
            onset,
            regime.rank().slope(),
            relative(regime.alpha()),
            effectiveRank,
            alpha);
    if (candidate == Phase.ENTROPY_SEEKING
        || candidate == Phase.COMPRESSION_SEEKING
        || current == Phase.WARMUP) {
      warmupClosed = true;
    }
    boolean peak =
        current == Phase.ENTROPY_SEEKING && candidate == Phase.STEADY && regime.knotted();
    current = candidate;
    phaseSince = onset;
    phaseConfirmed = step;
    // The next regime is fitted from the new phase's onset; after a change to steady from the
    // confirming window instead: the flat stretch that confirmed it may begin on the tail of the
    // phase it ends (the last windows of a collapse), which must not read as a new fall. A steady
    // entered at the peak of a rise is fitted from the peak: a fall after it is compression from
    // the peak on, and the windows between the peak and the confirmation are part of it.
    anchorX = candidate == Phase.STEADY && !peak ? x : regime.onsetX();
    peakSteady = peak;
    steadySinceStart = false;
    return rise == null ? List.of(t) : List.of(rise, t);
  }

  /**
   * The entropy-seeking phase of the rise from the segment's first observation to the regime's
   * turn, confirmed now; its trends are those of the straight line between the two observed levels.
   */
  private PhaseTransition riseBefore(
      LogStepWindow.Regime r, long step, double effectiveRank, double alpha) {
    double span = r.onsetX() - firstX;
    double alphaLevel = Math.abs(0.5 * (firstAlpha + r.alpha().atOnset()));
    return new PhaseTransition(
        run,
        layer,
        stage,
        Phase.STEADY,
        Phase.ENTROPY_SEEKING,
        step,
        phaseSince,
        span > 0 ? (r.onsetRank() - Math.log(firstRank)) / span : 0.0,
        span > 0 && alphaLevel > 0 ? (r.alpha().atOnset() - firstAlpha) / span / alphaLevel : 0.0,
        effectiveRank,
        alpha);
  }

  /** The phase of the current segment; {@link Phase#STEADY} until a trend is established. */
  public Phase current() {
    return current;
  }

  /**
   * The estimated step at which the current phase began (the turn in the series that the detector
   * attributes it to), or the first step of the segment while it is still in its initial steady
   * state; −1 before the first accepted observation.
   */
  public long phaseSinceStep() {
    return phaseSince;
  }

  /**
   * The step of the observation that confirmed the current phase (≥ {@link #phaseSinceStep()}), or
   * the first step of the segment while it is in its initial steady state; −1 before the first
   * accepted observation.
   */
  public long phaseConfirmedStep() {
    return phaseConfirmed;
  }

  /** The stage of the current segment ({@link Stage#PRETRAIN} before the first observation). */
  public Stage stage() {
    return stage;
  }

  /** The last accepted step, or −1 before the first accepted observation. */
  public long lastStep() {
    return lastStep;
  }

  /** Observations ignored because RankMe or α was NaN or infinite. */
  public long ignoredNonFinite() {
    return ignoredNonFinite;
  }

  /** Observations ignored because their step was not after the last accepted step of the stage. */
  public long ignoredStale() {
    return ignoredStale;
  }

  private void startSegment(Stage newStage, long step, double rank, double alpha) {
    // Pretraining counts its steps from 0, so a detector that starts late in pretraining (a layer
    // that joins late, a collector that starts late) keeps the true log-step axis. Other stages
    // start at the first step this detector sees in them.
    origin = (!started && newStage == Stage.PRETRAIN) ? 0 : step;
    started = true;
    stage = newStage;
    window.clear();
    current = Phase.STEADY;
    phaseSince = step;
    phaseConfirmed = step;
    anchorX = Math.log1p((double) (step - origin));
    firstRank = rank;
    firstAlpha = alpha;
    firstX = anchorX;
    steadySinceStart = true;
    peakSteady = false;
    // A detector that joins pretraining late (its first window far past the origin) has missed
    // the start of the run: what it sees first cannot be the run's early collapse.
    warmupClosed = newStage == Stage.PRETRAIN && anchorX > config.horizonLogSteps();
  }

  private Phase candidate(LogStepWindow.Regime r) {
    double trend = r.rank().slope();
    double noise = Math.max(r.rank().noise(), config.noiseFloor());
    boolean rising =
        current == Phase.ENTROPY_SEEKING ? stays(r, trend, +1) : enters(r, trend, noise, +1);
    boolean falling =
        current == Phase.WARMUP || current == Phase.COMPRESSION_SEEKING
            ? stays(r, trend, -1)
            : enters(r, trend, noise, -1) || fallsFromPeak(r, trend, noise);
    boolean alphaRising = vetoes(r, +1);
    boolean alphaFalling = vetoes(r, -1);
    if (rising && !alphaRising) {
      return Phase.ENTROPY_SEEKING;
    }
    if (falling && !alphaFalling) {
      return current == Phase.WARMUP || warmupAllowed(r, noise)
          ? Phase.WARMUP
          : Phase.COMPRESSION_SEEKING;
    }
    if (current == Phase.STEADY) {
      return Phase.STEADY;
    }
    // A phase is left for steady once the regime after a turn has stayed flat long enough. A turn
    // into the opposite direction is no plateau: it waits for its own evidence (the branches
    // above).
    boolean flat = Math.abs(trend) < config.enterTrend();
    // A rise that has turned into a fall (the regime starts at a significant peak and falls with
    // the evidence a phase needs to stay) is no plateau either: it goes straight to
    // compression-seeking once the fall is large enough, fitted from the peak.
    if (current == Phase.ENTROPY_SEEKING && r.knotted() && stays(r, trend, -1)) {
      return current;
    }
    return flat && r.span() >= config.steadyDurationLogSteps() ? Phase.STEADY : current;
  }

  /**
   * Enough evidence to enter the phase of direction {@code dir} (+1 rising, −1 falling), on ln
   * RankMe: the change since the onset is e^change − 1 in relative terms.
   */
  private boolean enters(LogStepWindow.Regime r, double trend, double noise, int dir) {
    LogStepWindow.Measure m = r.rank();
    double change = dir * m.change();
    return dir * trend >= config.enterTrend()
        && significant(m, 1.0, dir, enterCritical)
        && change >= config.minEffect() * noise
        && dir * Math.expm1(m.change()) >= config.minChange()
        && r.span() >= config.minSpanLogSteps();
  }

  /**
   * A fall from a significant peak goes straight to compression-seeking, fitted from the peak: the
   * regime starts at a turn (which passed its own test, {@code phases.turn-significance}), so the
   * fall after it needs the evidence a phase needs to stay (the exit significance and trend) with
   * the size of an entry (minimum effect, change and span). The peak is one the detector saw: the
   * top of a confirmed entropy-seeking rise, or the turn a steady was entered at after one, or — in
   * a steady — a turn whose observed level rose from the segment's first window by at least the
   * minimum change and by 4 × the minimum effect in noise units, so that a stationary series'
   * wobble is no peak (measured: 2 × let 13 of 4,000 stationary series change phase, 4 × stays
   * within the bound, docs/phases.md).
   */
  private boolean fallsFromPeak(LogStepWindow.Regime r, double trend, double noise) {
    if (!r.knotted() || !(current == Phase.ENTROPY_SEEKING || peakSteady || roseToTurn(r, noise))) {
      return false;
    }
    LogStepWindow.Measure m = r.rank();
    return stays(r, trend, -1)
        && -m.change() >= config.minEffect() * noise
        && -Math.expm1(m.change()) >= config.minChange()
        && r.span() >= config.minSpanLogSteps();
  }

  /** In a steady: the series rose from the segment's first window to the regime's turn. */
  private boolean roseToTurn(LogStepWindow.Regime r, double noise) {
    if (current != Phase.STEADY) {
      return false;
    }
    double rise = r.onsetRank() - Math.log(firstRank);
    return rise >= Math.max(Math.log1p(config.minChange()), 4 * config.minEffect() * noise);
  }

  /** Enough evidence to stay in the phase of direction {@code dir}. */
  private boolean stays(LogStepWindow.Regime r, double trend, int dir) {
    return dir * trend >= config.exitTrend() && significant(r.rank(), 1.0, dir, exitCritical);
  }

  /**
   * The slope in direction {@code dir} is significant at the Student-t value (from {@code
   * critical}) for the noise estimate's degrees of freedom, so a short series must show a larger t.
   */
  private boolean significant(LogStepWindow.Measure m, double level, int dir, double[] critical) {
    double slope = dir * m.slope();
    if (!(slope > 0)) {
      return false;
    }
    int dof = (int) Math.min(m.noiseDof(), Integer.MAX_VALUE);
    return slope >= m.slopeError(noise(m, level)) * StudentT.lookup(critical, dof);
  }

  /** The noise estimate, at least the floor at this level (1 for ln RankMe: a relative floor). */
  private double noise(LogStepWindow.Measure m, double level) {
    return Math.max(m.noise(), config.noiseFloor() * level);
  }

  private boolean vetoes(LogStepWindow.Regime r, int dir) {
    LogStepWindow.Measure a = r.alpha();
    double level = level(a);
    if (!(level > 0)) {
      return false;
    }
    return dir * a.slope() / level >= config.alphaVetoTrend()
        && significant(a, level, dir, enterCritical);
  }

  /**
   * A collapse is warmup when the stage has one, nothing but steady came before it in the segment,
   * it began within the stage's warmup steps, and it fell from the level the segment started at: a
   * fall after a rise (the series climbed first, even if the rise was never confirmed) is
   * compression, however early.
   */
  private boolean warmupAllowed(LogStepWindow.Regime r, double noise) {
    long limit = config.warmupSteps(stage);
    if (warmupClosed || limit == 0 || r.onsetStep() - origin > limit) {
      return false;
    }
    // The observed level at the onset, not the fitted one: a line's value extrapolated to the first
    // window of a segment (alone at x = 0, far left of the others) can lie well above it.
    double rise = Math.exp(r.onsetRank()) / firstRank - 1;
    return rise <= Math.max(config.minChange(), Math.expm1(config.minEffect() * noise));
  }

  /** The regime's mean fitted level (half-way between its onset and now). */
  private static double level(LogStepWindow.Measure m) {
    return Math.abs(0.5 * (m.atOnset() + m.atEnd()));
  }

  private static double relative(LogStepWindow.Measure m) {
    double level = level(m);
    return level > 0 ? m.slope() / level : 0.0;
  }
}
