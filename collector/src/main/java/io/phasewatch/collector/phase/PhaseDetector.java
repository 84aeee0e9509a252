package io.phasewatch.collector.phase;

import io.phasewatch.core.wire.Stage;
import java.util.EnumMap;
import java.util.Objects;
import java.util.Optional;

/**
 * Labels the learning phase of one (run, layer) from its series of (stage, step, RankMe, α); the
 * algorithm is in docs/phases.md. Not thread-safe: one detector belongs to one thread (the
 * collector feeds each (run, layer) in order).
 *
 * <p>The series is cut into segments, one per stage. Within a segment each observation is placed at
 * x = ln(1 + step − origin); the RankMe and α trends are weighted least-squares slopes over a
 * window of width W on that axis, divided by the window's mean level (relative change per e-fold of
 * steps). RankMe decides the direction (α may veto it if configured), hysteresis separates entering
 * from leaving, and a new phase is confirmed only after it has been indicated for a minimum number
 * of observations and a minimum span of ln(step).
 */
public final class PhaseDetector {

  private final String run;
  private final String layer;
  private final PhaseDetectorConfig config;
  private final LogStepWindow window;

  /** Last accepted step of each stage seen: tells a replay of an old stage from a new segment. */
  private final EnumMap<Stage, Long> lastStepByStage = new EnumMap<>(Stage.class);

  private Stage stage = Stage.PRETRAIN;
  private boolean started;
  private long origin;
  private long lastStep = -1;
  private Phase current = Phase.STEADY;
  private long phaseSince = -1;

  /** True once the segment has been entropy- or compression-seeking: no warmup after that. */
  private boolean warmupClosed;

  private Phase pending;
  private int pendingPoints;
  private double pendingSinceX;

  private long ignoredNonFinite;
  private long ignoredStale;

  public PhaseDetector(String run, String layer, PhaseDetectorConfig config) {
    this.run = Objects.requireNonNull(run, "run");
    this.layer = Objects.requireNonNull(layer, "layer");
    this.config = Objects.requireNonNull(config, "config");
    this.window =
        new LogStepWindow(config.windowLogSteps(), config.binsPerWindow(), config.minPoints());
  }

  /**
   * Feeds one measurement. Returns the transition it confirmed, if any. Observations with a
   * non-finite RankMe or α are ignored and counted ({@link #ignoredNonFinite()}); so are steps at
   * or before the last accepted step of their stage, which is what a producer's restart replays
   * ({@link #ignoredStale()}).
   */
  public Optional<PhaseTransition> observe(
      Stage stage, long step, double effectiveRank, double alpha) {
    Objects.requireNonNull(stage, "stage");
    if (step < 0) {
      throw new IllegalArgumentException(
          "phase detector: step " + step + " is negative (run=" + run + ", layer=" + layer + ")");
    }
    if (!Double.isFinite(effectiveRank) || !Double.isFinite(alpha)) {
      ignoredNonFinite++;
      return Optional.empty();
    }
    Long lastOfStage = lastStepByStage.get(stage);
    if (lastOfStage != null && step <= lastOfStage) {
      ignoredStale++;
      return Optional.empty();
    }
    if (!started || stage != this.stage) {
      startSegment(stage, step);
    }
    lastStep = step;
    lastStepByStage.put(stage, step);

    double x = Math.log1p((double) (step - origin));
    window.add(x, effectiveRank, alpha);
    LogStepWindow.Trend trend = window.trend();
    if (trend == null) {
      return Optional.empty();
    }
    Phase candidate = candidate(trend, step);
    if (candidate == current) {
      pending = null;
      return Optional.empty();
    }
    if (candidate != pending) {
      pending = candidate;
      pendingPoints = 0;
      pendingSinceX = x;
    }
    pendingPoints++;
    double span =
        candidate == Phase.STEADY
            ? Math.max(config.minDurationLogSteps(), config.steadyDurationLogSteps())
            : config.minDurationLogSteps();
    if (pendingPoints < config.minDurationPoints() || x - pendingSinceX < span) {
      return Optional.empty();
    }
    PhaseTransition t =
        new PhaseTransition(
            run,
            layer,
            stage,
            current,
            candidate,
            step,
            trend.rankTrend(),
            trend.alphaTrend(),
            effectiveRank,
            alpha);
    if (candidate == Phase.ENTROPY_SEEKING || candidate == Phase.COMPRESSION_SEEKING) {
      warmupClosed = true;
    }
    if (current == Phase.WARMUP) {
      warmupClosed = true;
    }
    current = candidate;
    phaseSince = step;
    pending = null;
    return Optional.of(t);
  }

  /** The phase of the current segment; {@link Phase#STEADY} until a trend is established. */
  public Phase current() {
    return current;
  }

  /**
   * The step at which the current phase was confirmed, or the first step of the segment while it is
   * still in its initial steady state; −1 before the first accepted observation.
   */
  public long phaseSinceStep() {
    return phaseSince;
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

  private void startSegment(Stage newStage, long step) {
    // Pretraining counts its steps from 0, so a detector that starts late in pretraining (a layer
    // that joins late, a collector that starts late) keeps the true log-step axis. Other stages
    // start at the first step this detector sees in them.
    origin = (!started && newStage == Stage.PRETRAIN) ? 0 : step;
    started = true;
    stage = newStage;
    window.clear();
    current = Phase.STEADY;
    phaseSince = step;
    warmupClosed = false;
    pending = null;
  }

  private Phase candidate(LogStepWindow.Trend t, long step) {
    boolean inEntropy = current == Phase.ENTROPY_SEEKING;
    boolean inCollapse = current == Phase.COMPRESSION_SEEKING || current == Phase.WARMUP;
    boolean rising = exceeds(t.rankTrend(), t.rankT(), inEntropy);
    boolean falling = exceeds(-t.rankTrend(), -t.rankT(), inCollapse);
    boolean alphaRising = vetoes(t.alphaTrend(), t.alphaT());
    boolean alphaFalling = vetoes(-t.alphaTrend(), -t.alphaT());
    if (rising && !alphaRising) {
      return Phase.ENTROPY_SEEKING;
    }
    if (falling && !alphaFalling) {
      return current == Phase.WARMUP || warmupAllowed(step)
          ? Phase.WARMUP
          : Phase.COMPRESSION_SEEKING;
    }
    return Phase.STEADY;
  }

  private boolean exceeds(double trend, double tStat, boolean staying) {
    return staying
        ? trend >= config.exitTrend() && tStat >= config.exitSignificance()
        : trend >= config.enterTrend() && tStat >= config.enterSignificance();
  }

  private boolean vetoes(double alphaTrend, double alphaT) {
    return alphaTrend >= config.alphaVetoTrend() && alphaT >= config.enterSignificance();
  }

  private boolean warmupAllowed(long step) {
    return !warmupClosed && step - origin <= config.warmupSteps(stage);
  }
}
