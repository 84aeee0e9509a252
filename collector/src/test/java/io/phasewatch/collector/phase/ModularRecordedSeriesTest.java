package io.phasewatch.collector.phase;

import static io.phasewatch.collector.phase.Phase.COMPRESSION_SEEKING;
import static io.phasewatch.collector.phase.Phase.ENTROPY_SEEKING;
import static io.phasewatch.collector.phase.Phase.STEADY;
import static io.phasewatch.collector.phase.Phase.WARMUP;
import static org.assertj.core.api.Assertions.assertThat;

import io.phasewatch.collector.phase.RecordedSeriesTest.Row;
import io.phasewatch.core.wire.Stage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The modular-addition demo's real run (phase/modular-djl.csv: a + b mod 59, the series as the
 * collector computed it from the snapshots that went through Kafka, with the trainer's train and
 * held-out accuracy at each probe step; docs/demo-science.md has the command). Landmarks are read
 * off the raw series, per layer:
 *
 * <ul>
 *   <li>the peak: the step of RankMe's maximum, where compression begins (RankMe falls from there
 *       to the end of the run);
 *   <li>the rise: the step of RankMe's minimum before the peak, where entropy-seeking begins;
 *   <li>the jump: the first step at which held-out accuracy reaches 0.9.
 * </ul>
 *
 * The detector with its default settings must label entropy-seeking, then compression-seeking,
 * never warmup after entropy-seeking and never compression before the peak; entropy-seeking within
 * 2 e-folds of steps of the rise (the bound of docs/phases.md's low-SNR tolerance), compression
 * after the peak and before the jump, so an operator hears of the compression phase before held-out
 * accuracy shows the generalisation it comes with.
 */
class ModularRecordedSeriesTest {

  private static Map<String, List<Row>> load() throws IOException {
    return RecordedSeriesTest.load("/phase/modular-djl.csv");
  }

  private record Landmarks(long rise, long peak, long jump) {}

  private static Landmarks landmarks(List<Row> rows) {
    Row peak = rows.get(0);
    for (Row r : rows) {
      if (r.rank() > peak.rank()) {
        peak = r;
      }
    }
    Row bottom = rows.get(0);
    for (Row r : rows) {
      if (r.step() < peak.step() && r.rank() < bottom.rank()) {
        bottom = r;
      }
    }
    long jump = -1;
    for (Row r : rows) {
      if (jump < 0 && r.testAcc() >= 0.9) {
        jump = r.step();
      }
    }
    return new Landmarks(bottom.step(), peak.step(), jump);
  }

  @Test
  void theRecordingHoldsTheGrokkingShapeItIsKeptFor() throws IOException {
    Map<String, List<Row>> byLayer = load();
    assertThat(byLayer).containsKeys("layers.0.out", "final_norm");
    for (Map.Entry<String, List<Row>> e : byLayer.entrySet()) {
      List<Row> rows = e.getValue();
      Landmarks m = landmarks(rows);
      Row peak = rows.stream().filter(r -> r.step() == m.peak()).findFirst().orElseThrow();
      Row last = rows.get(rows.size() - 1);
      String what = "layer " + e.getKey() + " " + m;
      // Memorised at the peak, not yet generalised; compression then brings the jump.
      assertThat(peak.trainAcc()).as(what).isGreaterThan(0.95);
      assertThat(peak.testAcc()).as(what).isLessThan(0.6);
      assertThat(m.jump()).as(what).isGreaterThan(m.peak());
      assertThat(last.rank()).as(what).isLessThan(peak.rank() / 2.5);
      assertThat(last.alpha() - peak.alpha()).as(what).isGreaterThan(1.0);
    }
  }

  @Test
  void detectorFindsEntropyThenCompressionSeekingAtTheRecordedSteps() throws IOException {
    Map<String, List<Row>> byLayer = load();
    for (Map.Entry<String, List<Row>> e : byLayer.entrySet()) {
      List<Row> rows = e.getValue();
      Landmarks m = landmarks(rows);
      PhaseDetector d = new PhaseDetector("modular", e.getKey(), PhaseDetectorConfig.defaults());
      List<PhaseTransition> ts = new ArrayList<>();
      for (Row r : rows) {
        d.observe(Stage.PRETRAIN, r.step(), r.rank(), r.alpha()).forEach(ts::add);
      }
      String what = "layer " + e.getKey() + " " + m + ": " + ts;
      List<Phase> phases = SyntheticSeries.phases(ts).stream().filter(p -> p != STEADY).toList();
      assertThat(phases).as(what).containsSubsequence(ENTROPY_SEEKING, COMPRESSION_SEEKING);
      PhaseTransition entropy =
          ts.stream().filter(t -> t.to() == ENTROPY_SEEKING).findFirst().orElseThrow();
      PhaseTransition compression =
          ts.stream().filter(t -> t.to() == COMPRESSION_SEEKING).findFirst().orElseThrow();
      assertThat(ts.stream().filter(t -> t.step() > entropy.step()).map(PhaseTransition::to))
          .as(what)
          .doesNotContain(WARMUP);
      assertThat(SyntheticSeries.logStep(entropy.step()) - SyntheticSeries.logStep(m.rise()))
          .as(what)
          .isBetween(0.0, 2.0);
      assertThat(compression.step()).as(what).isGreaterThan(m.peak()).isLessThan(m.jump());
    }
  }

  /**
   * At a probe every 50 steps (the cadence of RecordedSeriesTest), the fall from RankMe's peak is
   * confirmed as compression-seeking within {@link RecordedSeriesTest#COMPRESSION_LAG} e-folds of
   * steps of its onset (RecordedSeriesTest's swing onset) in every layer, with an entropy-seeking
   * label before it: final_norm's rise is labelled on its own, layers.0.out's (three windows, 38 →
   * 70) when the fall from its top is.
   */
  @Test
  void atAProbeEveryFiftyStepsTheFallFromThePeakIsConfirmedWithinHalfAnEFold() throws IOException {
    Map<String, List<Row>> byLayer = load();
    assertThat(byLayer.keySet()).contains("final_norm", "layers.0.out");
    for (Map.Entry<String, List<Row>> e : byLayer.entrySet()) {
      List<Row> rows = RecordedSeriesTest.every(e.getValue(), RecordedSeriesTest.CADENCE);
      List<PhaseTransition> ts = RecordedSeriesTest.replay(e.getKey(), rows);
      RecordedSeriesTest.Swing fall =
          RecordedSeriesTest.swings(rows).stream()
              .filter(s -> !s.rising())
              .findFirst()
              .orElseThrow();
      String what = "layer " + e.getKey() + " fall from " + fall.onset() + ": " + ts;
      PhaseTransition compression =
          ts.stream()
              .filter(
                  t -> t.to() == COMPRESSION_SEEKING && t.step() >= rows.get(fall.from()).step())
              .findFirst()
              .orElseThrow(() -> new AssertionError("no compression: " + what));
      assertThat(RecordedSeriesTest.lag(compression.step(), fall.onset()))
          .as(what)
          .isBetween(0.0, RecordedSeriesTest.COMPRESSION_LAG);
      List<PhaseTransition> before =
          ts.subList(0, ts.indexOf(compression)).stream()
              .filter(t -> t.to() == ENTROPY_SEEKING)
              .toList();
      assertThat(before).as(what).isNotEmpty();
      assertThat(before.get(0).onsetStep())
          .as(what)
          .isLessThanOrEqualTo(rows.get(fall.from()).step());
    }
  }
}
