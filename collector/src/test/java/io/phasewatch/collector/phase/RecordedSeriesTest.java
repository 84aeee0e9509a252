package io.phasewatch.collector.phase;

import static io.phasewatch.collector.phase.Phase.COMPRESSION_SEEKING;
import static io.phasewatch.collector.phase.Phase.ENTROPY_SEEKING;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The detector with its defaults on series recorded from real training (test resources under
 * phase/, each a CSV of step, layer, effective_rank, alpha and sometimes accuracies; the scripts
 * and runs that made them are in docs/phases.md), replayed at a probe every 50 steps.
 *
 * <p>What the detector should have found is read off each layer's raw series, with rules that share
 * nothing with the detector:
 *
 * <ul>
 *   <li><b>Swings</b> (a zig-zag on RankMe smoothed by a centred median of three windows, so that a
 *       single-window loss spike is no swing): the series turns where it has retraced {@link
 *       #SWING} (25 %) of the extreme reached since the last turn; between turns it rises or falls.
 *   <li>The <b>onset</b> of a swing is the first step after its start at which RankMe, smoothed by
 *       a centred median of three windows, has moved 10 % of its level away from the extreme the
 *       swing starts at (below a peak, above a trough): where the move is established. A slow drift
 *       before it (the grokking run falls from 50.5 to 47 over steps 400…1,000 before its fast
 *       fall) does not count; docs/phases.md reports the lags against the peak as well.
 *   <li>A <b>collapse</b> is a first swing that falls from the first observation, in a series whose
 *       recording (at its own cadence) falls first too; a fall after a rise is a
 *       <b>compression</b>, also when thinning leaves a series starting after the rise.
 * </ul>
 *
 * Each rise must be labelled entropy-seeking within 2 e-folds of steps of its onset; each
 * compression compression-seeking, never warmup, within 0.5 e-folds; each collapse warmup; and no
 * compression may be confirmed outside a compression swing (a series that only rises or plateaus
 * has none).
 */
class RecordedSeriesTest {

  static final long CADENCE = 50;
  static final double SWING = 0.25;
  static final double ENTROPY_LAG = 2.0;
  static final double COMPRESSION_LAG = 0.5;
  static final int MIN_COLLAPSE_WINDOWS = 5;

  /** Every recorded series; each is held to the lags at a probe every 50 steps. */
  static List<String> fixtures() {
    return List.of(
        "/phase/recorded-default.csv",
        "/phase/grokking-p59.csv",
        "/phase/grokking-p59-zipf.csv",
        "/phase/modular-djl.csv",
        "/phase/lm-d32.csv",
        "/phase/lm-d64.csv",
        "/phase/lm-d128.csv");
  }

  /** One window; the accuracies are NaN where the recording has none (train_acc, test_acc). */
  record Row(long step, double rank, double alpha, double trainAcc, double testAcc) {}

  record Swing(int from, int to, boolean rising, long onset) {}

  static Map<String, List<Row>> load(String resource) throws IOException {
    Map<String, List<Row>> byLayer = new TreeMap<>();
    try (InputStream in = RecordedSeriesTest.class.getResourceAsStream(resource)) {
      assertThat(in).as(resource + " on the test classpath").isNotNull();
      BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      List<String> cols = List.of(reader.readLine().trim().split(","));
      int step = cols.indexOf("step");
      int layer = cols.indexOf("layer");
      // The DJL-recorded modular fixture names the column rankme.
      int rank = Math.max(cols.indexOf("effective_rank"), cols.indexOf("rankme"));
      int alpha = cols.indexOf("alpha");
      int train = cols.indexOf("train_acc");
      int test = cols.indexOf("test_acc");
      assertThat(List.of(step, layer, rank, alpha)).doesNotContain(-1);
      String line;
      while ((line = reader.readLine()) != null) {
        if (line.isBlank()) {
          continue;
        }
        String[] f = line.trim().split(",", -1);
        byLayer
            .computeIfAbsent(f[layer], k -> new ArrayList<>())
            .add(
                new Row(
                    Long.parseLong(f[step]),
                    Double.parseDouble(f[rank]),
                    Double.parseDouble(f[alpha]),
                    number(f, train),
                    number(f, test)));
      }
    }
    for (List<Row> rows : byLayer.values()) {
      rows.sort((a, b) -> Long.compare(a.step(), b.step()));
    }
    return byLayer;
  }

  private static double number(String[] fields, int column) {
    return column < 0 || fields[column].isEmpty() ? Double.NaN : Double.parseDouble(fields[column]);
  }

  /** The rows a probe every {@code cadence} steps would have produced. */
  static List<Row> every(List<Row> rows, long cadence) {
    return rows.stream().filter(r -> r.step() % cadence == 0).toList();
  }

  /** A move from a to b is a swing when it is at least SWING of the larger of the two. */
  static boolean large(double a, double b) {
    return Math.abs(b - a) >= SWING * Math.max(a, b);
  }

  /** Zig-zag: the series turns at an extreme once it has moved away from it by a large move. */
  static List<Swing> swings(List<Row> rows) {
    List<Integer> turns = new ArrayList<>();
    turns.add(0);
    int extreme = 0;
    int direction = 0;
    for (int i = 1; i < rows.size(); i++) {
      double v = smoothed(rows, i);
      double e = smoothed(rows, extreme);
      if (direction == 0) {
        if (large(smoothed(rows, 0), v)) {
          direction = v > smoothed(rows, 0) ? 1 : -1;
          extreme = i;
        }
      } else if (direction * (v - e) > 0) {
        extreme = i;
      } else if (large(e, v)) {
        turns.add(extreme);
        direction = -direction;
        extreme = i;
      }
    }
    if (turns.get(turns.size() - 1) != extreme) {
      turns.add(extreme);
    }
    List<Swing> out = new ArrayList<>();
    for (int k = 0; k + 1 < turns.size(); k++) {
      int a = turns.get(k);
      int b = turns.get(k + 1);
      double from = smoothed(rows, a);
      double to = smoothed(rows, b);
      if (!large(from, to)) {
        continue;
      }
      long onset = rows.get(b).step();
      for (int i = a + 1; i <= b; i++) {
        double smooth = smoothed(rows, i);
        if (to > from ? smooth >= 1.1 * from : smooth <= 0.9 * from) {
          onset = rows.get(i).step();
          break;
        }
      }
      out.add(new Swing(a, b, to > from, onset));
    }
    return out;
  }

  /** RankMe at i, smoothed by the median of windows i − 1, i, i + 1 (fewer at the ends). */
  static double smoothed(List<Row> rows, int i) {
    if (i == 0 || i == rows.size() - 1) {
      return rows.get(i).rank();
    }
    double a = rows.get(i - 1).rank();
    double b = rows.get(i).rank();
    double c = rows.get(i + 1).rank();
    return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
  }

  static List<PhaseTransition> replay(String layer, List<Row> rows) {
    PhaseDetector d = new PhaseDetector("recorded", layer, PhaseDetectorConfig.defaults());
    List<PhaseTransition> ts = new ArrayList<>();
    for (Row r : rows) {
      d.observe(Stage.PRETRAIN, r.step(), r.rank(), r.alpha()).forEach(ts::add);
    }
    return ts;
  }

  static double lag(long confirmed, long onset) {
    return Math.log1p(confirmed) - Math.log1p(onset);
  }

  @ParameterizedTest
  @MethodSource("fixtures")
  void atAProbeEveryFiftyStepsEachSwingIsLabelledWithinItsLag(String resource) throws IOException {
    Map<String, List<Row>> byLayer = load(resource);
    assertThat(byLayer).isNotEmpty();
    for (Map.Entry<String, List<Row>> e : byLayer.entrySet()) {
      List<Swing> recorded = swings(e.getValue());
      boolean recordingCollapses =
          !recorded.isEmpty() && !recorded.get(0).rising() && recorded.get(0).from() == 0;
      List<Row> rows = every(e.getValue(), CADENCE);
      List<Swing> swings = swings(rows);
      List<PhaseTransition> ts = replay(e.getKey(), rows);
      String what = resource + " " + e.getKey() + " swings " + describe(rows, swings) + ": " + ts;
      System.out.println(what);
      for (int k = 0; k < swings.size(); k++) {
        Swing s = swings.get(k);
        long start = rows.get(s.from()).step();
        long end = rows.get(s.to()).step();
        if (!s.rising() && k == 0 && s.from() == 0 && recordingCollapses) {
          // At this cadence a collapse spans two or three windows; the warmup is confirmed after
          // its bottom, with its onset at or before it.
          long bottom = rows.get(s.to()).step();
          assertThat(ts)
              .as("collapse: " + what)
              .anyMatch(t -> t.to() == WARMUP && t.onsetStep() <= bottom);
          continue;
        }
        Phase expected = s.rising() ? ENTROPY_SEEKING : COMPRESSION_SEEKING;
        double allowed = s.rising() ? ENTROPY_LAG : COMPRESSION_LAG;
        PhaseTransition found =
            ts.stream()
                .filter(t -> t.to() == expected && t.step() >= start)
                .findFirst()
                .orElse(null);
        assertThat(found).as("%s from %d to %d: %s", expected, start, end, what).isNotNull();
        assertThat(lag(found.step(), s.onset()))
            .as("lag of %s after onset %d: %s", found, s.onset(), what)
            .isLessThanOrEqualTo(allowed);
        if (!s.rising()) {
          assertThat(ts.stream().filter(t -> t.step() >= start && t.step() <= found.step()))
              .as("no warmup for the compression: " + what)
              .noneMatch(t -> t.to() == WARMUP);
        }
      }
      for (PhaseTransition t : ts) {
        if (t.to() != COMPRESSION_SEEKING) {
          continue;
        }
        boolean inAFall =
            swings.stream()
                .anyMatch(
                    s ->
                        !s.rising()
                            && t.step() >= rows.get(s.from()).step()
                            && lag(t.step(), rows.get(s.to()).step()) <= COMPRESSION_LAG);
        assertThat(inAFall).as("compression outside any fall: %s in %s", t, what).isTrue();
      }
    }
  }

  /**
   * At the cadence each series was recorded at, a collapse of at least {@link
   * #MIN_COLLAPSE_WINDOWS} windows must be warmup: the skewed grokking run's dip (three windows at
   * a probe every 10 steps, 30 steps long) has second differences as large as the fall itself and
   * cannot be told from noise without knowing the noise (docs/phases.md, "Limitations").
   */
  @ParameterizedTest
  @MethodSource("fixtures")
  void atTheRecordedCadenceEveryCollapseIsWarmupAndNothingElseIs(String resource)
      throws IOException {
    for (Map.Entry<String, List<Row>> e : load(resource).entrySet()) {
      List<Row> rows = e.getValue();
      List<Swing> swings = swings(rows);
      List<PhaseTransition> ts = replay(e.getKey(), rows);
      String what = resource + " " + e.getKey() + " swings " + describe(rows, swings) + ": " + ts;
      System.out.println(what);
      boolean collapses =
          !swings.isEmpty()
              && !swings.get(0).rising()
              && swings.get(0).from() == 0
              && swings.get(0).to() + 1 >= MIN_COLLAPSE_WINDOWS;
      if (collapses) {
        assertThat(ts).as("collapse: " + what).anyMatch(t -> t.to() == WARMUP);
        long bottom = rows.get(swings.get(0).to()).step();
        assertThat(ts.stream().filter(t -> t.to() == WARMUP))
            .as("warmup after the rise began: " + what)
            .allMatch(t -> t.onsetStep() <= bottom);
      }
      List<PhaseTransition> warmups = ts.stream().filter(t -> t.to() == WARMUP).toList();
      assertThat(warmups)
          .as("at most one warmup, at the start: " + what)
          .hasSizeLessThanOrEqualTo(1);
    }
  }

  private static String describe(List<Row> rows, List<Swing> swings) {
    StringBuilder b = new StringBuilder();
    for (Swing s : swings) {
      b.append(
          String.format(
              "[%s %d→%d (%.1f→%.1f) onset %d]",
              s.rising() ? "rise" : "fall",
              rows.get(s.from()).step(),
              rows.get(s.to()).step(),
              rows.get(s.from()).rank(),
              rows.get(s.to()).rank(),
              s.onset()));
    }
    return b.toString();
  }
}
