package io.phasewatch.collector.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.phasewatch.collector.config.ConfigLoader;
import io.phasewatch.collector.ingest.MergedWindow;
import io.phasewatch.collector.json.MeasuresJson;
import io.phasewatch.collector.metrics.CollectorMetrics;
import io.phasewatch.collector.spectrum.FitRange;
import io.phasewatch.core.sketch.CovarianceSketch;
import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.core.sketch.Float32Moment;
import io.phasewatch.core.wire.SnapshotMetadata;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.Stage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * A merged window says which summary the agents kept: co-moments merge in double, so a window of
 * float32 co-moments must not read as {@code exact} in the API or in {@code
 * phasewatch_spectrum_seconds}.
 */
class LayerSummaryNameTest {

  private static final int D = 48;

  @Test
  void aWindowOfFloat32CoMomentsIsNamedExact32AndOneOfDoubleCoMomentsExact() {
    assertThat(nameOfAWindowOf(() -> Float32Moment.ofDimension(D))).isEqualTo("exact32");
    assertThat(nameOfAWindowOf(() -> ExactSummary.ofDimension(D))).isEqualTo("exact");
  }

  private static String nameOfAWindowOf(Supplier<CovarianceSketch> summary) {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    CollectorState state =
        new CollectorState(
            registry, 100, 100, ConfigLoader.load(null, Map.of(), Map.of()).phases());
    CollectorMetrics metrics = new CollectorMetrics(registry, state::liveRuns);
    LayerHandle layer = state.layer("run", "layer00");
    Random random = new Random(7);
    List<SnapshotRecord> parts = new ArrayList<>();
    for (int rank = 0; rank < 2; rank++) {
      CovarianceSketch sketch = summary.get();
      float[] rows = new float[64 * D];
      for (int i = 0; i < rows.length; i++) {
        rows[i] = (float) random.nextGaussian();
      }
      sketch.update(rows, 64);
      parts.add(
          new SnapshotRecord(
              new SnapshotMetadata("run", Stage.PRETRAIN, rank, 2, "layer00", 100, 0, 0, 0, 0),
              sketch.snapshot()));
    }
    layer.apply(
        new MergedWindow("run", "layer00", 0, 2, parts, true, 0), FitRange.STUDY, metrics, t -> {});
    String name =
        MeasuresJson.measures(layer.latest().orElseThrow().measures())
            .getString(MeasuresJson.SKETCH);
    assertThat(registry.find("phasewatch.spectrum").tag("kind", name).timer())
        .as("phasewatch_spectrum_seconds{kind=%s}", name)
        .isNotNull();
    return name;
  }
}
