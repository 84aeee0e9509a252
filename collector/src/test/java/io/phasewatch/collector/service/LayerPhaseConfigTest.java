package io.phasewatch.collector.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.phasewatch.collector.config.ConfigLoader;
import io.phasewatch.collector.ingest.MergedWindow;
import io.phasewatch.collector.metrics.CollectorMetrics;
import io.phasewatch.collector.phase.Phase;
import io.phasewatch.collector.spectrum.FitRange;
import io.phasewatch.core.sketch.ExactSnapshot;
import io.phasewatch.core.wire.SnapshotMetadata;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.Stage;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The {@code phases.*} keys reach every layer's detector: one noise-free pretraining series whose
 * RankMe falls from step 20 on is labelled by the detector each configuration describes.
 */
class LayerPhaseConfigTest {

  private static final int D = 64;

  @Test
  void collapseNearTheStartOfPretrainingIsWarmupWithTheDefaults() {
    assertThat(phaseAfterCollapse(Map.of())).isEqualTo(Phase.WARMUP);
  }

  @Test
  void withoutAPretrainingWarmupTheSameCollapseIsCompressionSeeking() {
    assertThat(phaseAfterCollapse(Map.of("phases.warmup-steps.pretrain", "0")))
        .isEqualTo(Phase.COMPRESSION_SEEKING);
  }

  @Test
  void aMinimumSpanLongerThanTheSeriesKeepsTheLayerSteady() {
    assertThat(phaseAfterCollapse(Map.of("phases.min-span-log-steps", "5")))
        .isEqualTo(Phase.STEADY);
  }

  @Test
  void aHiddenLayerPublishesNothingUntilRevealedAndThenItsWholeState() {
    // The same collapse twice: once published as it goes, once replayed hidden and then revealed.
    SimpleMeterRegistry live = new SimpleMeterRegistry();
    feed(live, false);
    SimpleMeterRegistry replayed = new SimpleMeterRegistry();
    LayerHandle hidden = feed(replayed, true);
    assertThat(replayed.find("phasewatch.effective.rank").meters()).isEmpty();
    assertThat(replayed.find("phasewatch.phase.transitions").meters()).isEmpty();
    hidden.reveal();
    double liveTransitions =
        live.find("phasewatch.phase.transitions").functionCounters().stream()
            .mapToDouble(c -> c.count())
            .sum();
    assertThat(liveTransitions).isPositive();
    for (var c : live.find("phasewatch.phase.transitions").functionCounters()) {
      assertThat(
              replayed
                  .get("phasewatch.phase.transitions")
                  .tags(c.getId().getTags())
                  .functionCounter()
                  .count())
          .as(c.getId().toString())
          .isEqualTo(c.count());
    }
    assertThat(replayed.get("phasewatch.effective.rank").gauge().value())
        .isEqualTo(live.get("phasewatch.effective.rank").gauge().value());
  }

  private static LayerHandle feed(SimpleMeterRegistry registry, boolean hidden) {
    CollectorState state =
        new CollectorState(
            registry,
            100,
            100,
            ConfigLoader.load(null, Map.of(), Map.of("phases.warmup-steps.pretrain", "0"))
                .phases());
    LayerHandle layer = state.layer("run", "layer00");
    if (hidden) {
      layer.hideIfNew();
    }
    collapse(layer, new CollectorMetrics(registry, state::liveRuns));
    return layer;
  }

  /**
   * Feeds 33 windows at steps 20·1.1^k with covariance eigenvalues exp(−j/τ), τ halving for every
   * 4× in steps: ln RankMe falls by about 0.5 per unit of ln(step), five times the default entry
   * trend of 0.10 (docs/phases.md), without noise.
   */
  private static Phase phaseAfterCollapse(Map<String, String> overrides) {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    CollectorState state =
        new CollectorState(
            registry, 100, 100, ConfigLoader.load(null, Map.of(), overrides).phases());
    CollectorMetrics metrics = new CollectorMetrics(registry, state::liveRuns);
    LayerHandle layer = state.layer("run", "layer00");
    collapse(layer, metrics);
    return layer.latest().orElseThrow().phase();
  }

  private static void collapse(LayerHandle layer, CollectorMetrics metrics) {
    double step = 20;
    for (int w = 0; w < 33; w++, step *= 1.1) {
      double tau = 20 * Math.pow(step / 20, -0.5);
      double[] comoment = new double[D * D];
      for (int j = 0; j < D; j++) {
        comoment[j * D + j] = 1_000 * Math.exp(-j / tau);
      }
      SnapshotRecord part =
          new SnapshotRecord(
              new SnapshotMetadata(
                  "run", Stage.PRETRAIN, 0, 1, "layer00", Math.round(step), w, 0, 0, 0),
              new ExactSnapshot(1_001, new double[D], comoment, 0));
      layer.apply(
          new MergedWindow("run", "layer00", w, 1, List.of(part), true, 0),
          FitRange.STUDY,
          metrics,
          t -> {});
    }
  }
}
