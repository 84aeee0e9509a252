package io.phasewatch.collector.phase;

import static io.phasewatch.collector.phase.Phase.COMPRESSION_SEEKING;
import static io.phasewatch.collector.phase.Phase.ENTROPY_SEEKING;
import static io.phasewatch.collector.phase.Phase.STEADY;
import static io.phasewatch.collector.phase.Phase.WARMUP;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.phasewatch.core.wire.Stage;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PhaseDetectorTest {

  private static final PhaseDetectorConfig DEFAULTS = PhaseDetectorConfig.defaults();

  /**
   * The documented delay bound on the ln(1 + step) axis for a sharp turn (docs/phases.md): measured
   * 0.21–0.34 without noise and up to 0.51 at the probe noise (100 random seeds), so 0.6.
   */
  static final double DELAY_BOUND = 0.6;

  /** The documented bound for a change to steady: the steady duration plus the same margin. */
  static final double STEADY_DELAY_BOUND = DEFAULTS.steadyDurationLogSteps() + 0.5;

  private static PhaseDetector detector() {
    return new PhaseDetector("run-1", "final_norm", DEFAULTS);
  }

  @Test
  void labelsAreLowerCaseNames() {
    assertThat(List.of(Phase.values()).stream().map(Phase::label))
        .containsExactly("warmup", "entropy_seeking", "compression_seeking", "steady");
  }

  @Test
  void noiselessCycleGivesExactlyItsTransitionsWithinTheDelayBound() {
    SyntheticSeries series = SyntheticSeries.warmupEntropyCompressionEntropy();
    List<PhaseTransition> ts = series.feed(detector(), Stage.PRETRAIN, 10, 0.0, 1);

    assertThat(SyntheticSeries.phases(ts))
        .containsExactly(WARMUP, ENTROPY_SEEKING, COMPRESSION_SEEKING, ENTROPY_SEEKING);
    // Each change of direction (knots 2, 3, 4) is confirmed after the knot, within the bound.
    for (int i = 1; i <= 3; i++) {
      double delay =
          SyntheticSeries.logStep(ts.get(i).step()) - SyntheticSeries.logStep(series.knot(i + 1));
      System.out.printf("noiseless delay %s: %.3f%n", ts.get(i), delay);
      assertThat(delay).as("delay of %s", ts.get(i)).isBetween(0.0, DELAY_BOUND);
    }
    // The warmup is confirmed while the collapse is still going on.
    assertThat(ts.get(0).step()).isLessThan(series.knot(2));
  }

  @Test
  void transitionsCarryTheirEvidence() {
    SyntheticSeries series = SyntheticSeries.warmupEntropyCompressionEntropy();
    List<PhaseTransition> ts = series.feed(detector(), Stage.PRETRAIN, 10, 0.0, 1);

    PhaseTransition entropy = ts.get(1);
    assertThat(entropy.run()).isEqualTo("run-1");
    assertThat(entropy.layer()).isEqualTo("final_norm");
    assertThat(entropy.stage()).isEqualTo(Stage.PRETRAIN);
    assertThat(entropy.from()).isEqualTo(WARMUP);
    assertThat(entropy.rankTrend()).isGreaterThan(DEFAULTS.enterTrend());
    assertThat(entropy.alphaTrend()).isNegative();
    assertThat(entropy.effectiveRank()).isEqualTo(series.rank(entropy.step()));
    assertThat(entropy.alpha()).isEqualTo(SyntheticSeries.alphaFor(series.rank(entropy.step())));
    PhaseTransition compression = ts.get(2);
    assertThat(compression.rankTrend()).isLessThan(-DEFAULTS.enterTrend());
    assertThat(compression.alphaTrend()).isPositive();
  }

  @Test
  void aPlateauEndsEntropySeekingInSteady() {
    // d = 32 in PHASES-EXPERIMENT.md: RankMe rises, then plateaus near 24 from step ~1,500.
    SyntheticSeries series =
        new SyntheticSeries(new long[] {300, 1_500, 30_000}, new double[] {6, 24, 24});
    PhaseDetector d = detector();
    List<PhaseTransition> ts = series.feed(d, Stage.PRETRAIN, 10, 1.0, 7);

    assertThat(SyntheticSeries.phases(ts)).containsExactly(ENTROPY_SEEKING, STEADY);
    double delay = SyntheticSeries.logStep(ts.get(1).step()) - SyntheticSeries.logStep(1_500);
    assertThat(delay).isBetween(0.0, STEADY_DELAY_BOUND);
    assertThat(d.current()).isEqualTo(STEADY);
    // The gauge's "since" is the onset the detector found, the confirming step is its own.
    assertThat(d.phaseSinceStep()).isEqualTo(ts.get(1).onsetStep());
    assertThat(d.phaseConfirmedStep()).isEqualTo(ts.get(1).step());
    assertThat(ts.get(1).onsetStep()).isBetween(1_000L, ts.get(1).step());
  }

  /**
   * RankMe rising from step 300 while α rises with it until step 1,000 and falls after — what the
   * small model's recorded series does with the study's α window.
   */
  private static List<PhaseTransition> riseWithAlphaRisingFirst(PhaseDetector d) {
    SyntheticSeries rank = new SyntheticSeries(new long[] {300, 5_000}, new double[] {8, 30});
    SyntheticSeries alpha =
        new SyntheticSeries(new long[] {300, 1_000, 5_000}, new double[] {1.6, 3.1, 2.6});
    Random random = new Random(23);
    List<PhaseTransition> ts = new ArrayList<>();
    for (long step = 300; step <= 5_000; step += 10) {
      d.observe(
              Stage.PRETRAIN,
              step,
              rank.rank(step) + SyntheticSeries.RANK_NOISE * random.nextGaussian(),
              alpha.rank(step) + SyntheticSeries.ALPHA_NOISE * random.nextGaussian())
          .forEach(ts::add);
    }
    return ts;
  }

  /**
   * A rise of three windows at a probe every 50 steps (38 → 63 → 70, too few for a regime of its
   * own), then a slow fall: the observation that confirms the compression also confirms the rise
   * before it, oldest first, with the rise's onset at the first window. The same fall from a flat
   * start has no rise to label: it is the run's early collapse, warmup.
   */
  @Test
  void aRiseTooShortToEnterIsLabelledWithTheFallFromItsTop() {
    double[] rise = {38, 63, 70, 68, 65, 61, 57, 55, 51, 50, 49, 48, 47, 44, 41, 38, 35};
    double[] flat = rise.clone();
    flat[0] = 70;
    flat[1] = 70;
    List<List<PhaseTransition>> confirmed = new ArrayList<>();
    PhaseDetector d = detector();
    PhaseDetector f = detector();
    List<PhaseTransition> fromFlat = new ArrayList<>();
    for (int i = 0; i < rise.length; i++) {
      long step = 50L * (i + 1);
      double alpha = 2.2 + 0.05 * i;
      List<PhaseTransition> ts = d.observe(Stage.PRETRAIN, step, rise[i], alpha);
      if (!ts.isEmpty()) {
        confirmed.add(ts);
      }
      fromFlat.addAll(f.observe(Stage.PRETRAIN, step, flat[i], alpha));
    }
    assertThat(confirmed).as("%s", confirmed).isNotEmpty();
    List<PhaseTransition> first = confirmed.get(0);
    assertThat(first)
        .extracting(PhaseTransition::to)
        .containsExactly(ENTROPY_SEEKING, COMPRESSION_SEEKING);
    PhaseTransition entropy = first.get(0);
    PhaseTransition compression = first.get(1);
    assertThat(entropy.from()).isEqualTo(STEADY);
    assertThat(entropy.onsetStep()).isEqualTo(50);
    assertThat(entropy.step()).isEqualTo(compression.step());
    assertThat(entropy.rankTrend()).isPositive();
    assertThat(compression.from()).isEqualTo(ENTROPY_SEEKING);
    assertThat(compression.onsetStep()).isBetween(100L, 200L);
    assertThat(d.current()).isEqualTo(COMPRESSION_SEEKING);

    assertThat(fromFlat).as("%s", fromFlat).isNotEmpty();
    assertThat(fromFlat.get(0).to()).isEqualTo(WARMUP);
    assertThat(fromFlat).extracting(PhaseTransition::to).doesNotContain(ENTROPY_SEEKING);
  }

  @Test
  void byDefaultRankMeDecidesEvenWhenAlphaRisesWithIt() {
    List<PhaseTransition> ts = riseWithAlphaRisingFirst(detector());
    assertThat(SyntheticSeries.phases(ts)).containsExactly(ENTROPY_SEEKING);
    assertThat(ts.get(0).alphaTrend()).as("the evidence shows α disagreeing").isPositive();
  }

  @Test
  void withTheAlphaVetoARisingAlphaHoldsEntropySeekingBackUntilItTurns() {
    PhaseDetector d = new PhaseDetector("run-1", "final_norm", DEFAULTS.withAlphaVeto(0.05));
    List<PhaseTransition> ts = riseWithAlphaRisingFirst(d);
    assertThat(SyntheticSeries.phases(ts)).containsExactly(ENTROPY_SEEKING);
    // α rises until step 1,000; its window trend stays above the veto until the turn has crossed
    // most of a window, so entropy-seeking comes after the turn.
    assertThat(ts.get(0).step()).isGreaterThan(1_000);
    assertThat(ts.get(0).alphaTrend()).isLessThan(0.05);
  }

  @Test
  void aStageChangeStartsANewSegmentWithoutWarmup() {
    PhaseDetector d = detector();
    SyntheticSeries pretrain =
        new SyntheticSeries(new long[] {0, 300, 5_000}, new double[] {30, 10, 40});
    pretrain.feed(d, Stage.PRETRAIN, 10, 1.0, 3);
    assertThat(d.current()).isEqualTo(ENTROPY_SEEKING);

    // SFT with a step counter that starts again at 0, and a fast collapse at its start.
    SyntheticSeries sft =
        new SyntheticSeries(new long[] {0, 300, 3_000}, new double[] {40, 12, 12});
    PhaseDetector sameDetector = d;
    List<PhaseTransition> first = sameDetector.observe(Stage.SFT, 0, 40, 1.2);
    assertThat(first).isEmpty();
    assertThat(d.stage()).isEqualTo(Stage.SFT);
    assertThat(d.current()).isEqualTo(STEADY);
    assertThat(d.phaseSinceStep()).isZero();

    List<PhaseTransition> ts = new ArrayList<>();
    Random random = new Random(5);
    for (long step = 10; step <= sft.lastStep(); step += 10) {
      double r = sft.rank(step);
      d.observe(Stage.SFT, step, r + 0.35 * random.nextGaussian(), SyntheticSeries.alphaFor(r))
          .forEach(ts::add);
    }
    // Post-training stages have no warmup label by default: the collapse is compression.
    assertThat(SyntheticSeries.phases(ts)).startsWith(COMPRESSION_SEEKING);
    assertThat(ts).allMatch(t -> t.stage() == Stage.SFT);
    assertThat(ts.get(0).from()).isEqualTo(STEADY);
  }

  @Test
  void aPostTrainingWarmupIsLabelledWhenConfigured() {
    PhaseDetector d =
        new PhaseDetector("run-1", "final_norm", DEFAULTS.withWarmupSteps(Stage.SFT, 1_000));
    SyntheticSeries sft =
        new SyntheticSeries(new long[] {0, 300, 3_000}, new double[] {40, 12, 30});
    List<PhaseTransition> ts = sft.feed(d, Stage.SFT, 10, 1.0, 11);
    assertThat(SyntheticSeries.phases(ts)).startsWith(WARMUP, ENTROPY_SEEKING);
  }

  @Test
  void aLayerThatJoinsLateStartsFreshAndSkipsTheWarmup() {
    // The layer's first window is at step 20,000 of pretraining, during a compression phase.
    SyntheticSeries series =
        new SyntheticSeries(new long[] {20_000, 80_000}, new double[] {45, 30});
    PhaseDetector d = detector();
    List<PhaseTransition> ts = series.feed(d, Stage.PRETRAIN, 50, 1.0, 13);

    assertThat(SyntheticSeries.phases(ts)).containsExactly(COMPRESSION_SEEKING);
    // Pretraining keeps its true origin (step 0), so the window needs W of ln(step) to fill.
    double delay = SyntheticSeries.logStep(ts.get(0).step()) - SyntheticSeries.logStep(20_000);
    assertThat(delay).isBetween(0.0, DELAY_BOUND);
  }

  @Test
  void replayedStepsAfterARestartCreateNoTransitionsAndChangeNothing() {
    SyntheticSeries series = SyntheticSeries.warmupEntropyCompressionEntropy();
    List<PhaseTransition> reference = series.feed(detector(), Stage.PRETRAIN, 10, 1.0, 17);

    PhaseDetector d = detector();
    Random random = new Random(17);
    List<PhaseTransition> ts = new ArrayList<>();
    long replayed = 0;
    for (long step = 0; step <= series.lastStep(); step += 10) {
      double r = series.rank(step);
      double rank = r + SyntheticSeries.RANK_NOISE * random.nextGaussian();
      double alpha =
          SyntheticSeries.alphaFor(r) + SyntheticSeries.ALPHA_NOISE * random.nextGaussian();
      d.observe(Stage.PRETRAIN, step, rank, alpha).forEach(ts::add);
      if (step % 5_000 == 0 && step > 0) {
        // A producer restarted from a checkpoint 2,000 steps back and re-sends those windows,
        // with different values (a fresh probe), plus a duplicate of the latest one.
        Random other = new Random(step);
        for (long s = step - 2_000; s <= step; s += 10) {
          assertThat(d.observe(Stage.PRETRAIN, s, 1 + 60 * other.nextDouble(), 5.0)).isEmpty();
          replayed++;
        }
      }
    }
    assertThat(ts).isEqualTo(reference);
    assertThat(d.ignoredStale()).isEqualTo(replayed);
  }

  @Test
  void aLateWindowOfAFinishedStageIsIgnored() {
    PhaseDetector d = detector();
    d.observe(Stage.PRETRAIN, 1_000, 20, 1.5);
    d.observe(Stage.PRETRAIN, 1_010, 20, 1.5);
    d.observe(Stage.SFT, 1_020, 20, 1.5);
    assertThat(d.observe(Stage.PRETRAIN, 1_010, 20, 1.5)).isEmpty();
    assertThat(d.stage()).isEqualTo(Stage.SFT);
    assertThat(d.phaseSinceStep()).isEqualTo(1_020);
    assertThat(d.ignoredStale()).isEqualTo(1);
  }

  @Test
  void nonFiniteValuesAreIgnoredAndCounted() {
    SyntheticSeries series = SyntheticSeries.warmupEntropyCompressionEntropy();
    List<PhaseTransition> reference = series.feed(detector(), Stage.PRETRAIN, 10, 1.0, 19);

    PhaseDetector d = detector();
    Random random = new Random(19);
    List<PhaseTransition> ts = new ArrayList<>();
    long bad = 0;
    for (long step = 0; step <= series.lastStep(); step += 10) {
      double r = series.rank(step);
      double rank = r + SyntheticSeries.RANK_NOISE * random.nextGaussian();
      double alpha =
          SyntheticSeries.alphaFor(r) + SyntheticSeries.ALPHA_NOISE * random.nextGaussian();
      if (step % 700 == 5 * 10) {
        // A failed fit between two windows: same step, so the good value that follows is kept.
        assertThat(d.observe(Stage.PRETRAIN, step, Double.NaN, alpha)).isEmpty();
        assertThat(d.observe(Stage.PRETRAIN, step, rank, Double.POSITIVE_INFINITY)).isEmpty();
        bad += 2;
      }
      d.observe(Stage.PRETRAIN, step, rank, alpha).forEach(ts::add);
    }
    assertThat(ts).isEqualTo(reference);
    assertThat(d.ignoredNonFinite()).isEqualTo(bad);
    assertThat(d.ignoredStale()).isZero();
  }

  @Test
  void beforeAnyObservationTheDetectorIsSteadyInPretraining() {
    PhaseDetector d = detector();
    assertThat(d.current()).isEqualTo(STEADY);
    assertThat(d.stage()).isEqualTo(Stage.PRETRAIN);
    assertThat(d.phaseSinceStep()).isEqualTo(-1);
    assertThat(d.lastStep()).isEqualTo(-1);
  }

  @Test
  void aNegativeStepIsRejectedWithItsContext() {
    assertThatThrownBy(() -> detector().observe(Stage.PRETRAIN, -5, 10, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("step -5")
        .hasMessageContaining("run=run-1")
        .hasMessageContaining("layer=final_norm");
  }
}
