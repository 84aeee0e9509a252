package io.phasewatch.collector.phase;

import io.phasewatch.core.wire.Stage;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Test series: ln RankMe piecewise linear in ln(1 + step) between knots, α tied to RankMe by a
 * power law (α ∝ RankMe^−0.35, so α moves against RankMe as in the study), plus Gaussian probe
 * noise with the standard deviations measured in PHASES-EXPERIMENT.md (RankMe 0.35, α 0.02 at d =
 * 64), scaled by a factor.
 */
final class SyntheticSeries {

  static final double RANK_NOISE = 0.35;
  static final double ALPHA_NOISE = 0.02;

  private final long[] knotSteps;
  private final double[] knotRanks;

  /** Knots (step, RankMe); the first knot's step is where the series starts. */
  SyntheticSeries(long[] knotSteps, double[] knotRanks) {
    this.knotSteps = knotSteps.clone();
    this.knotRanks = knotRanks.clone();
  }

  /**
   * RankMe 30 until step 20, warmup collapse to 8 at step 300, entropy-seeking to 40 at 3,000,
   * compression-seeking to 25 at 12,000, entropy-seeking again to 45 at 60,000. The changes of
   * direction are knots 2, 3 and 4.
   */
  static SyntheticSeries warmupEntropyCompressionEntropy() {
    return new SyntheticSeries(
        new long[] {0, 20, 300, 3_000, 12_000, 60_000}, new double[] {30, 30, 8, 40, 25, 45});
  }

  long lastStep() {
    return knotSteps[knotSteps.length - 1];
  }

  long knot(int i) {
    return knotSteps[i];
  }

  double rank(long step) {
    double x = Math.log1p(step);
    int i = 1;
    while (i < knotSteps.length - 1 && step > knotSteps[i]) {
      i++;
    }
    double x0 = Math.log1p(knotSteps[i - 1]);
    double x1 = Math.log1p(knotSteps[i]);
    double y0 = Math.log(knotRanks[i - 1]);
    double y1 = Math.log(knotRanks[i]);
    return Math.exp(y0 + (y1 - y0) * (x - x0) / (x1 - x0));
  }

  static double alphaFor(double rank) {
    return 1.5 * Math.pow(rank / 20.0, -0.35);
  }

  /** Feeds every {@code cadence} steps from the first knot to the last; returns the transitions. */
  List<PhaseTransition> feed(
      PhaseDetector detector, Stage stage, long cadence, double noiseScale, long seed) {
    Random random = new Random(seed);
    List<PhaseTransition> out = new ArrayList<>();
    for (long step = knotSteps[0]; step <= lastStep(); step += cadence) {
      double r = rank(step);
      List<PhaseTransition> t =
          detector.observe(
              stage,
              step,
              r + noiseScale * RANK_NOISE * random.nextGaussian(),
              alphaFor(r) + noiseScale * ALPHA_NOISE * random.nextGaussian());
      out.addAll(t);
    }
    return out;
  }

  static List<Phase> phases(List<PhaseTransition> transitions) {
    return transitions.stream().map(PhaseTransition::to).toList();
  }

  /** ln(1 + step): the axis the delay bound is stated on. */
  static double logStep(long step) {
    return Math.log1p(step);
  }
}
