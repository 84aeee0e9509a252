package io.phasewatch.collector.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.phasewatch.collector.phase.Phase;
import io.phasewatch.collector.spectrum.SpectralMeasures;
import io.phasewatch.collector.spectrum.Spectrum;
import io.phasewatch.core.wire.Stage;
import io.phasewatch.core.wire.TrainingScalars;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The names the registry renders are exactly the names of the contract, docs/metrics.md. */
class MetricNamesTest {

  private static final Pattern DOC_NAME = Pattern.compile("^\\| `(phasewatch_[a-z0-9_]+)` \\|");

  @Test
  void everyRenderedFamilyIsDocumentedAndEveryDocumentedFamilyIsRendered() throws IOException {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    CollectorMetrics health = new CollectorMetrics(registry, () -> 1);
    health.merged(true, 5);
    health.spectrumTime("exact", 1_000);
    double[] lambda = new double[200];
    for (int i = 0; i < lambda.length; i++) {
      lambda[i] = Math.pow(i + 1, -1.0);
    }
    SpectralMeasures m = SpectralMeasures.of(Spectrum.ofEigenvalues(lambda, 1_000));
    TrainingScalars scalars =
        new TrainingScalars(
            Map.of(
                TrainingScalars.LOSS,
                new TrainingScalars.Scalar(10, 2.5),
                TrainingScalars.LEARNING_RATE,
                new TrainingScalars.Scalar(1, 1e-3),
                "heldout.accuracy",
                new TrainingScalars.Scalar(1, 0.75)));
    TrainingPoint onset = new TrainingPoint(2, 20, Stage.SFT, 1, scalars);
    AtomicReference<LayerState> state =
        new AtomicReference<>(state(m, m.effectiveRank(), 20, 30, onset));
    LayerMeters layer = new LayerMeters(registry, "r", "l", state);
    layer.stage(Stage.SFT);
    layer.onsetTraining(onset);
    layer.transition(Stage.SFT, Phase.WARMUP, Phase.STEADY);
    new TrainingScalarMeters(registry, "r").update(30, scalars);

    Set<String> rendered = new TreeSet<>();
    for (String line : registry.scrape().lines().toList()) {
      if (line.startsWith("# TYPE ")) {
        rendered.add(line.split(" ")[2]);
      }
    }
    Set<String> documented = new TreeSet<>();
    for (String line : Files.readAllLines(docs())) {
      Matcher mt = DOC_NAME.matcher(line);
      if (mt.find()) {
        documented.add(mt.group(1));
      }
    }
    assertThat(rendered).isEqualTo(documented);
  }

  @Test
  void removingALayerEndsAllItsSeries() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    SpectralMeasures m = SpectralMeasures.of(Spectrum.ofEigenvalues(new double[] {3, 2, 1}, 10));
    AtomicReference<LayerState> state = new AtomicReference<>(state(m, 1, 0, 0, null));
    LayerMeters layer = new LayerMeters(registry, "r", "l", state);
    layer.stage(Stage.SFT);
    layer.transition(Stage.SFT, Phase.WARMUP, Phase.STEADY);
    assertThat(registry.scrape()).contains("run=\"r\"");
    layer.stage(Stage.DPO);
    assertThat(registry.scrape()).doesNotContain("stage=\"sft\",phase").contains("stage=\"dpo\"");
    layer.remove();
    assertThat(registry.scrape()).doesNotContain("run=\"r\"");
  }

  @Test
  void onsetGaugesFollowTheStageAndEndWithTheLayer() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    SpectralMeasures m = SpectralMeasures.of(Spectrum.ofEigenvalues(new double[] {3, 2, 1}, 10));
    TrainingPoint onset =
        new TrainingPoint(
            2,
            20,
            Stage.SFT,
            1,
            new TrainingScalars(
                Map.of(
                    TrainingScalars.LOSS,
                    new TrainingScalars.Scalar(10, 2.5),
                    "eval_loss",
                    new TrainingScalars.Scalar(1, 3.25))));
    AtomicReference<LayerState> state = new AtomicReference<>(state(m, 1, 20, 30, onset));
    LayerMeters layer = new LayerMeters(registry, "r", "l", state);
    layer.stage(Stage.SFT);
    layer.onsetTraining(onset);
    assertThat(registry.scrape())
        .contains("phasewatch_phase_onset_training_loss{layer=\"l\",run=\"r\",stage=\"sft\"} 2.5")
        .contains(
            "phasewatch_phase_onset_training_scalar{layer=\"l\",name=\"eval_loss\",run=\"r\","
                + "stage=\"sft\"} 3.25")
        .contains("phasewatch_phase_onset_training_step{layer=\"l\",run=\"r\",stage=\"sft\"} 20.0")
        .doesNotContain("phasewatch_phase_onset_training_learning_rate");
    // A new stage whose onset has no scalars held: the names stay, under the new stage, as NaN.
    state.set(state(m, 1, 40, 40, null));
    layer.stage(Stage.DPO);
    layer.onsetTraining(null);
    assertThat(registry.scrape())
        .doesNotContain("stage=\"sft\"")
        .contains("phasewatch_phase_onset_training_loss{layer=\"l\",run=\"r\",stage=\"dpo\"} NaN");
    layer.remove();
    assertThat(registry.scrape()).doesNotContain("phasewatch_phase_onset_training");
  }

  private static LayerState state(
      SpectralMeasures m, double rankMax, long since, long confirmed, TrainingPoint onset) {
    return new LayerState(
        "r",
        "l",
        Stage.SFT,
        3,
        30,
        1_000,
        1,
        1,
        false,
        0,
        0,
        m,
        rankMax,
        Phase.STEADY,
        since,
        confirmed,
        onset);
  }

  private static Path docs() {
    Path p = Path.of("docs/metrics.md");
    return Files.exists(p) ? p : Path.of("../docs/metrics.md");
  }
}
