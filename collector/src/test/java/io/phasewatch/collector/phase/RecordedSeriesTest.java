package io.phasewatch.collector.phase;

import static io.phasewatch.collector.phase.Phase.ENTROPY_SEEKING;
import static io.phasewatch.collector.phase.Phase.STEADY;
import static io.phasewatch.collector.phase.Phase.WARMUP;
import static org.assertj.core.api.Assertions.assertThat;

import io.phasewatch.core.wire.Stage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The series recorded from the small model's real training (phase/recorded-default.csv: step,
 * layer, effective_rank, alpha), checked per layer against landmarks read off the raw series:
 *
 * <ul>
 *   <li>the bottom: the first step at which raw RankMe is within two probe standard deviations (2 ×
 *       0.35) of its minimum over the first 1,000 steps;
 *   <li>the rise: the last step at that level (RankMe leaves it for good after it).
 * </ul>
 *
 * The collapse must be labelled warmup when it holds enough windows for a confirmed trend
 * (minPoints + minDurationPoints from the first window to the bottom); with fewer it may be. A
 * warmup must be confirmed within the delay bound W + minDurationLogSteps after the bottom.
 * Entropy-seeking must follow (steady in between allowed), after the rise and within twice the
 * bound (the low-SNR tolerance of docs/phases.md: near the bottom the probe noise is a large share
 * of RankMe).
 */
class RecordedSeriesTest {

  private record Row(long step, double rank, double alpha) {}

  private static Map<String, List<Row>> load() throws IOException {
    Map<String, List<Row>> byLayer = new TreeMap<>();
    try (InputStream in =
        RecordedSeriesTest.class.getResourceAsStream("/phase/recorded-default.csv")) {
      assertThat(in).as("phase/recorded-default.csv on the test classpath").isNotNull();
      BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      String header = reader.readLine();
      List<String> cols = List.of(header.trim().split(","));
      int step = cols.indexOf("step");
      int layer = cols.indexOf("layer");
      int rank = cols.indexOf("effective_rank");
      int alpha = cols.indexOf("alpha");
      assertThat(List.of(step, layer, rank, alpha)).doesNotContain(-1);
      String line;
      while ((line = reader.readLine()) != null) {
        if (line.isBlank()) {
          continue;
        }
        String[] f = line.trim().split(",");
        byLayer
            .computeIfAbsent(f[layer], k -> new ArrayList<>())
            .add(
                new Row(
                    Long.parseLong(f[step]),
                    Double.parseDouble(f[rank]),
                    Double.parseDouble(f[alpha])));
      }
    }
    return byLayer;
  }

  @Test
  void everyRecordedLayerReadsItsCollapseAndRiseNearItsRawLandmarks() throws IOException {
    Map<String, List<Row>> byLayer = load();
    assertThat(byLayer).isNotEmpty();
    PhaseDetectorConfig config = PhaseDetectorConfig.defaults();
    double bound = config.windowLogSteps() + config.minDurationLogSteps();
    for (Map.Entry<String, List<Row>> e : byLayer.entrySet()) {
      List<Row> rows = e.getValue();
      rows.sort((a, b) -> Long.compare(a.step(), b.step()));
      double min = Double.MAX_VALUE;
      for (Row r : rows) {
        if (r.step() <= 1_000) {
          min = Math.min(min, r.rank());
        }
      }
      double bottomLevel = min + 2 * SyntheticSeries.RANK_NOISE;
      long bottom = -1;
      long rise = -1;
      for (Row r : rows) {
        if (r.rank() <= bottomLevel) {
          if (bottom < 0) {
            bottom = r.step();
          }
          rise = r.step();
        }
      }
      long firstTrendStep = rows.get(Math.min(config.minPoints(), rows.size()) - 1).step();

      PhaseDetector d = new PhaseDetector("recorded", e.getKey(), config);
      List<PhaseTransition> ts = new ArrayList<>();
      for (Row r : rows) {
        d.observe(Stage.PRETRAIN, r.step(), r.rank(), r.alpha()).ifPresent(ts::add);
      }
      String what = "layer " + e.getKey() + " (bottom " + bottom + ", rise " + rise + "): " + ts;
      long collapseWindows = 0;
      for (Row r : rows) {
        if (r.step() <= bottom) {
          collapseWindows++;
        }
      }
      boolean warmupExpected = collapseWindows >= config.minPoints() + config.minDurationPoints();
      List<Phase> phases = SyntheticSeries.phases(ts).stream().filter(p -> p != STEADY).toList();
      List<Phase> afterCollapse =
          !phases.isEmpty() && phases.get(0) == WARMUP ? phases.subList(1, phases.size()) : phases;
      assertThat(afterCollapse).as(what).startsWith(ENTROPY_SEEKING).doesNotContain(WARMUP);
      if (warmupExpected) {
        assertThat(phases).as(what).startsWith(WARMUP);
      }
      if (phases.get(0) == WARMUP) {
        PhaseTransition warmup = ts.get(0);
        assertThat(warmup.step()).as(what).isGreaterThanOrEqualTo(firstTrendStep);
        assertThat(SyntheticSeries.logStep(warmup.step()) - SyntheticSeries.logStep(bottom))
            .as(what)
            .isLessThanOrEqualTo(bound);
      }
      PhaseTransition entropy =
          ts.stream().filter(t -> t.to() == ENTROPY_SEEKING).findFirst().orElseThrow();
      assertThat(SyntheticSeries.logStep(entropy.step()) - SyntheticSeries.logStep(rise))
          .as(what)
          .isBetween(0.0, 2 * bound);
    }
  }
}
