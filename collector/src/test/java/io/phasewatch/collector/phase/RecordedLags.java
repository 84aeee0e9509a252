package io.phasewatch.collector.phase;

import io.phasewatch.collector.phase.RecordedSeriesTest.Row;
import io.phasewatch.collector.phase.RecordedSeriesTest.Swing;
import java.io.IOException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Prints docs/phases.md's table of lags: every recorded series (RecordedSeriesTest's fixtures)
 * replayed with the default detector as recorded and at a probe every 50 and 200 steps, one row per
 * swing of RecordedSeriesTest's zig-zag rule, with the onset that rule gives, the step that
 * confirmed the matching phase (the detector's onset in brackets) and the lag in e-folds of steps.
 * A first swing is a collapse when the series as recorded falls first from its first observation; a
 * first fall of a thinned series whose recording rose first (it starts after the rise) is a
 * compression.
 *
 * <p>Run: {@code mvn -q -B -pl collector test-compile exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=io.phasewatch.collector.phase.RecordedLags}
 */
public final class RecordedLags {

  private RecordedLags() {}

  public static void main(String[] args) throws IOException {
    System.out.println(
        "| series | layer | probe every | swing (test's rule) | phase | onset | confirmed"
            + " (detector's onset) | lag |");
    System.out.println("|---|---|---|---|---|---|---|---|");
    for (String resource : RecordedSeriesTest.fixtures()) {
      for (Map.Entry<String, List<Row>> e : RecordedSeriesTest.load(resource).entrySet()) {
        List<Swing> dense = RecordedSeriesTest.swings(e.getValue());
        boolean collapses = !dense.isEmpty() && !dense.get(0).rising() && dense.get(0).from() == 0;
        for (long cadence : new long[] {1, 50, 200}) {
          List<Row> rows = RecordedSeriesTest.every(e.getValue(), cadence);
          List<Swing> swings = RecordedSeriesTest.swings(rows);
          List<PhaseTransition> ts = RecordedSeriesTest.replay(e.getKey(), rows);
          for (int k = 0; k < swings.size(); k++) {
            Swing s = swings.get(k);
            boolean collapse = collapses && k == 0 && !s.rising() && s.from() == 0;
            Phase phase =
                collapse
                    ? Phase.WARMUP
                    : s.rising() ? Phase.ENTROPY_SEEKING : Phase.COMPRESSION_SEEKING;
            long start = rows.get(s.from()).step();
            Optional<PhaseTransition> found =
                ts.stream().filter(t -> t.to() == phase && t.step() >= start).findFirst();
            System.out.println(
                String.format(
                    Locale.ROOT,
                    "| %s | `%s` | %s | %s %d → %d (%.1f → %.1f) | %s | %d | %s | %s |",
                    resource.substring(resource.lastIndexOf('/') + 1),
                    e.getKey(),
                    cadence == 1 ? "as recorded" : String.valueOf(cadence),
                    collapse ? "collapse" : s.rising() ? "rise" : "fall",
                    start,
                    rows.get(s.to()).step(),
                    rows.get(s.from()).rank(),
                    rows.get(s.to()).rank(),
                    phase.name().toLowerCase(Locale.ROOT),
                    s.onset(),
                    found.map(t -> t.step() + " (" + t.onsetStep() + ")").orElse("not found"),
                    found
                        .map(
                            t ->
                                String.format(
                                    Locale.ROOT,
                                    "%.2f",
                                    RecordedSeriesTest.lag(t.step(), s.onset())))
                        .orElse("—")));
          }
        }
      }
    }
  }
}
