package io.phasewatch.collector.phase;

import static io.phasewatch.collector.phase.Phase.COMPRESSION_SEEKING;
import static io.phasewatch.collector.phase.Phase.ENTROPY_SEEKING;
import static io.phasewatch.collector.phase.Phase.WARMUP;
import static org.assertj.core.api.Assertions.assertThat;

import io.phasewatch.collector.phase.RecordedSeriesTest.Row;
import io.phasewatch.collector.phase.RecordedSeriesTest.Swing;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The demo's small language model recorded with DJL at d = 32, 64 and 128, probed every 10 steps
 * (phase/lm-d32.csv, lm-d64.csv, lm-d128.csv; phase/README.md has the command), replayed at the
 * cadences a user would probe at: every 50 and every 200 steps.
 *
 * <p>What happened is read off the dense (10-step) series with RecordedSeriesTest's zig-zag rule,
 * which shares nothing with the detector: a <b>collapse</b> is a first swing that falls from the
 * first observation (RankMe down at least 25 %); every later swing of these runs rises (the model
 * expands its representation for the rest of the run and never compresses). At the replayed cadence
 * the detector must label a warmup in every layer whose dense series collapses, with its onset no
 * later than the dense bottom; entropy-seeking within 2 e-folds of steps of each rise's onset (the
 * rule applied to the thinned series, as a user's series would be judged); and never compression,
 * since nothing after the collapse falls.
 */
class LanguageModelRecordedSeriesTest {

  static List<Arguments> replays() {
    return List.of(
        Arguments.of("/phase/lm-d32.csv", 50L),
        Arguments.of("/phase/lm-d64.csv", 50L),
        Arguments.of("/phase/lm-d128.csv", 50L),
        Arguments.of("/phase/lm-d32.csv", 200L),
        Arguments.of("/phase/lm-d64.csv", 200L),
        Arguments.of("/phase/lm-d128.csv", 200L));
  }

  @ParameterizedTest(name = "{0} every {1} steps")
  @MethodSource("replays")
  void theCollapseIsWarmupTheRiseEntropySeekingAndNothingCompresses(String resource, long cadence)
      throws IOException {
    Map<String, List<Row>> byLayer = RecordedSeriesTest.load(resource);
    assertThat(byLayer).containsOnlyKeys("final_norm", "layers.0.out");
    for (Map.Entry<String, List<Row>> e : byLayer.entrySet()) {
      List<Row> dense = e.getValue();
      List<Swing> denseSwings = RecordedSeriesTest.swings(dense);
      List<Row> rows = RecordedSeriesTest.every(dense, cadence);
      List<Swing> swings = RecordedSeriesTest.swings(rows);
      List<PhaseTransition> ts = RecordedSeriesTest.replay(e.getKey(), rows);
      String what = resource + " " + e.getKey() + " every " + cadence + ": " + ts;
      System.out.println(what);

      // The dense series must show what these runs are recorded for: a collapse, then a rise.
      assertThat(denseSwings).as("dense swings of " + what).hasSizeGreaterThanOrEqualTo(2);
      Swing collapse = denseSwings.get(0);
      assertThat(collapse.rising() || collapse.from() != 0).as("collapse in " + what).isFalse();
      assertThat(denseSwings.subList(1, denseSwings.size()))
          .as("after the collapse the dense series only rises: " + what)
          .allMatch(Swing::rising);

      // At 200 steps the collapse (over within ~150 steps) leaves at most one window: nothing to
      // label. At 50 steps it leaves two or three, and the warmup must be found.
      long bottom = dense.get(collapse.to()).step();
      if (cadence <= 50) {
        assertThat(ts).as("warmup: " + what).anyMatch(t -> t.to() == WARMUP);
        assertThat(ts.stream().filter(t -> t.to() == WARMUP))
            .as("the warmup's onset no later than the dense bottom at " + bottom + ": " + what)
            .allMatch(t -> t.onsetStep() <= bottom);
      }
      for (Swing s : swings) {
        if (!s.rising()) {
          continue;
        }
        long start = rows.get(s.from()).step();
        PhaseTransition found =
            ts.stream()
                .filter(t -> t.to() == ENTROPY_SEEKING && t.step() >= start)
                .findFirst()
                .orElse(null);
        assertThat(found).as("entropy-seeking from %d: %s", start, what).isNotNull();
        assertThat(RecordedSeriesTest.lag(found.step(), s.onset()))
            .as("lag of %s after onset %d: %s", found, s.onset(), what)
            .isLessThanOrEqualTo(RecordedSeriesTest.ENTROPY_LAG);
      }
      assertThat(ts).as("no compression: " + what).noneMatch(t -> t.to() == COMPRESSION_SEEKING);
    }
  }
}
