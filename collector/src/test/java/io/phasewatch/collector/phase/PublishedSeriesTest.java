package io.phasewatch.collector.phase;

import static io.phasewatch.collector.phase.Phase.COMPRESSION_SEEKING;
import static io.phasewatch.collector.phase.Phase.ENTROPY_SEEKING;
import static io.phasewatch.collector.phase.Phase.STEADY;
import static io.phasewatch.collector.phase.Phase.WARMUP;
import static org.assertj.core.api.Assertions.assertThat;

import io.phasewatch.core.wire.Stage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The d = 64 small-model series as PHASES-EXPERIMENT.md publishes it: RankMe falls from ~25 to ~2
 * by step 55 (exponentially in steps), stays near 2 until step 100, then rises (here log-linearly
 * to 35 at step 3,000; the document says only "still rising"); α rises from 1 to 3.5 at step 100,
 * then falls (here to 1.5 at step 3,000, an assumption of the same kind). Probe noise as measured
 * there; RankMe is clipped at 1, its lower limit.
 */
class PublishedSeriesTest {

  /** Entropy-seeking lag tolerated where the probe noise is 17 % of RankMe (ln(step) axis). */
  static final double LOW_SNR_LAG = 1.8;

  private static double rank(long step) {
    if (step <= 55) {
      return 25 * Math.pow(2.0 / 25, step / 55.0);
    }
    if (step <= 100) {
      return 2;
    }
    return 2 * Math.exp(Math.log(35 / 2.0) * fraction(step));
  }

  private static double alpha(long step) {
    if (step <= 100) {
      return 1 + 2.5 * step / 100.0;
    }
    return 3.5 * Math.exp(Math.log(1.5 / 3.5) * fraction(step));
  }

  /** Position of step between 100 and 3,000 on the ln(1 + step) axis. */
  private static double fraction(long step) {
    return (Math.log1p(step) - Math.log1p(100)) / (Math.log1p(3_000) - Math.log1p(100));
  }

  private static List<PhaseTransition> run(long cadence, long seed) {
    PhaseDetector d = new PhaseDetector("small", "final_norm", PhaseDetectorConfig.defaults());
    Random random = new Random(seed);
    List<PhaseTransition> out = new ArrayList<>();
    for (long step = 0; step <= 3_000; step += cadence) {
      double r = Math.max(1, rank(step) + SyntheticSeries.RANK_NOISE * random.nextGaussian());
      double a = alpha(step) + SyntheticSeries.ALPHA_NOISE * random.nextGaussian();
      d.observe(Stage.PRETRAIN, step, r, a).forEach(out::add);
    }
    return out;
  }

  /**
   * Over 1,000 fixed seeds (fixed so that a build is repeatable; a random-seed property failed
   * about one build in ten on the rare series below): the collapse is warmup and the rise
   * entropy-seeking in all but a bounded few. Measured on this detector: FAILURES_SEEN of 1,000
   * series start with entropy-seeking instead, where the noise (17 % of RankMe at its floor of 2)
   * hides the collapse's end; the bound leaves room for twice that, not for a regression.
   */
  @Test
  void measuredEveryTenStepsTheCollapseIsWarmupAndTheRiseEntropySeeking() {
    int failures = 0;
    for (long seed = 0; seed < 1_000; seed++) {
      if (!collapseIsWarmupAndRiseIsEntropySeeking(run(10, seed))) {
        failures++;
      }
    }
    System.out.printf(
        "published series, every 10 steps: %d of 1000 series mislabelled%n", failures);
    assertThat(failures).isLessThanOrEqualTo(2 * FAILURES_SEEN);
  }

  static final int FAILURES_SEEN = 2;

  private static boolean collapseIsWarmupAndRiseIsEntropySeeking(List<PhaseTransition> ts) {
    List<Phase> phases = SyntheticSeries.phases(ts);
    // The flat bottom (steps 55…100) may be long enough to read as steady; so may a stretch of the
    // early rise, where the probe noise is 7–17 % of RankMe (warmup, entropy, steady, entropy).
    // Never a compression, and the rise ends entropy-seeking.
    if (phases.isEmpty()
        || phases.get(0) != WARMUP
        || phases.get(phases.size() - 1) != ENTROPY_SEEKING
        || phases.contains(COMPRESSION_SEEKING)
        || phases.stream().filter(p -> p == STEADY).count() > 1) {
      return false;
    }
    // Warmup: confirmed while RankMe is still at its minimum (the collapse ends at 55, the rise
    // starts at 100), not after the bottom has been left behind.
    long warmupStep = ts.get(0).step();
    if (warmupStep < 30 || warmupStep > 140) {
      return false;
    }
    // Entropy-seeking: the rise starts at step 100. There RankMe is ≈ 2 and the probe noise 17 %
    // of it, so the evidence accumulates slowly. Tolerance: LOW_SNR_LAG, 1.8 on the ln(step) axis
    // (step 100 → 612), as before the detector's redesign (docs/phases.md: median 0.83, 99th
    // percentile 1.22, maximum 1.45).
    double lag =
        SyntheticSeries.logStep(ts.get(ts.size() - 1).step()) - SyntheticSeries.logStep(100);
    return lag >= 0 && lag <= LOW_SNR_LAG;
  }

  @Test
  void theEntropyDelayOverAThousandSeedsStaysWithinTheLowSnrLag() {
    int seeds = 1_000;
    double[] delays = new double[seeds];
    for (int seed = 0; seed < seeds; seed++) {
      List<PhaseTransition> ts = run(10, seed);
      long entropyStep = ts.get(ts.size() - 1).step();
      delays[seed] = SyntheticSeries.logStep(entropyStep) - SyntheticSeries.logStep(100);
    }
    Arrays.sort(delays);
    System.out.printf(
        "published series, entropy delay on ln(step): median %.2f, p99 %.2f, max %.2f%n",
        delays[seeds / 2], delays[seeds * 99 / 100], delays[seeds - 1]);
    assertThat(delays[seeds - 1]).isLessThanOrEqualTo(LOW_SNR_LAG);
  }

  @Test
  void measuredEveryFiftyStepsTheCollapseIsTooShortToLabelButTheRiseIsFound() {
    // Two windows cover the collapse: fewer than minPoints, so no trend exists there. The
    // detector must not invent a warmup, and finds the rise within LOW_SNR_LAG of step 100
    // (step 612), here by step 700 at this cadence.
    for (long seed = 1; seed <= 20; seed++) {
      List<PhaseTransition> ts = run(50, seed);
      assertThat(SyntheticSeries.phases(ts)).containsExactly(ENTROPY_SEEKING);
      assertThat(ts.get(0).step()).isBetween(100L, 700L);
    }
  }
}
