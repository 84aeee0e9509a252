package io.phasewatch.core.sketch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class RowSampleTest {

  private static float[] rows(int n, int d, int from) {
    float[] x = new float[n * d];
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < d; k++) {
        x[i * d + k] = (from + i) * 10 + k;
      }
    }
    return x;
  }

  @Test
  void keepsEveryRowInOrderWhileTheyFit() {
    RowSample s = RowSample.withCapacity(8, 3);
    s.update(rows(5, 3, 0), 5);
    s.update(rows(1, 3, 5));
    RowSampleSnapshot snap = s.snapshot();
    assertThat(snap.count()).isEqualTo(6);
    assertThat(snap.seenRows()).isEqualTo(6);
    assertThat(snap.rows()).containsExactly(rows(6, 3, 0));
    assertThat(snap.mean()).containsExactly(25.0, 26.0, 27.0);
  }

  @Test
  void beyondItsCapacityEveryRowIsKeptWithTheSameProbability() {
    // 100 rows into 10 slots, 20,000 windows: each row should be kept in 10% of them. With the
    // seeded stream these are fixed draws; a biased reservoir (say, keeping the first or last rows
    // more often) moves some count by far more than the bound.
    int n = 100;
    int capacity = 10;
    int windows = 20_000;
    RowSample s = RowSample.withCapacity(capacity, 1);
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = i;
    }
    int[] kept = new int[n];
    for (int w = 0; w < windows; w++) {
      s.reset();
      s.update(x, n);
      RowSampleSnapshot snap = s.snapshot();
      assertThat(snap.count()).isEqualTo(capacity);
      assertThat(snap.seenRows()).isEqualTo(n);
      for (float v : snap.rows()) {
        kept[(int) v]++;
      }
    }
    double expected = (double) windows * capacity / n; // 2000, sd ≈ 42
    double chi2 = 0;
    for (int c : kept) {
      assertThat((double) c).isBetween(expected - 250, expected + 250);
      chi2 += (c - expected) * (c - expected) / expected;
    }
    // 99 degrees of freedom: the 99.9th percentile of χ² is about 149.
    assertThat(chi2).isLessThan(149);
  }

  @Test
  void rowsHoldingNanOrInfinityAreCountedAndLeftOut() {
    RowSample s = RowSample.withCapacity(4, 2);
    s.update(new float[] {1, 2, Float.NaN, 0, 3, Float.POSITIVE_INFINITY, 5, 6}, 4);
    RowSampleSnapshot snap = s.snapshot();
    assertThat(snap.count()).isEqualTo(2);
    assertThat(snap.nonFiniteRows()).isEqualTo(2);
    assertThat(snap.rows()).containsExactly(1, 2, 5, 6);
  }

  @Test
  void mergeIsTheConcatenationOfTheRows() {
    RowSample a = RowSample.withCapacity(4, 2);
    RowSample b = RowSample.withCapacity(3, 2);
    a.update(rows(2, 2, 0), 2);
    b.update(rows(3, 2, 2), 3);
    var merged = (RowSampleSnapshot) Snapshots.merge(a.snapshot(), b.snapshot());
    assertThat(merged.capacity()).isEqualTo(7);
    assertThat(merged.count()).isEqualTo(5);
    assertThat(merged.seenRows()).isEqualTo(5);
    assertThat(merged.rows()).containsExactly(rows(5, 2, 0));
    assertThatThrownBy(() -> Snapshots.merge(a.snapshot(), ExactSummary.ofDimension(2).snapshot()))
        .hasMessageContaining("kinds differ");
  }

  @Test
  void resetStartsAnEmptyWindow() {
    RowSample s = RowSample.withCapacity(4, 2);
    s.update(rows(6, 2, 0), 6);
    s.reset();
    s.update(rows(1, 2, 9), 1);
    assertThat(s.snapshot().rows()).containsExactly(rows(1, 2, 9));
    assertThat(s.snapshot().seenRows()).isEqualTo(1);
  }

  @Test
  void capacityIsTheWindowsRowsSplitOverRanksWithinTheByteBound() {
    long mib16 = 16L << 20;
    assertThat(RowSample.capacityFor(2048, 8, mib16, 4096)).isEqualTo(256);
    assertThat(RowSample.capacityFor(2048, 3, mib16, 2048)).isEqualTo(683);
    // One rank at d = 4096: 16 MiB of float32 rows hold 1024 of them, not 2048.
    assertThat(RowSample.capacityFor(2048, 1, mib16, 4096)).isEqualTo(1024);
    assertThat(RowSample.capacityFor(2048, 1, 4, 8192)).isEqualTo(1);
  }

  @Test
  void theDefaultRouteIsExactUpTo1024WideAndTheRowsBeyond() {
    assertThat(DefaultSummary.forLayer(1024, 8)).isInstanceOf(ExactSummary.class);
    CovarianceSketch wide = DefaultSummary.forLayer(4096, 8);
    assertThat(wide).isInstanceOf(RowSample.class);
    assertThat(((RowSample) wide).capacity()).isEqualTo(256);
  }

  @Test
  void snapshotsRejectWhatTheyCannotHold() {
    assertThatThrownBy(() -> new RowSampleSnapshot(1, 2, new float[4], 2, 0))
        .hasMessageContaining("capacity=1");
    assertThatThrownBy(() -> new RowSampleSnapshot(2, 2, new float[4], 1, 0))
        .hasMessageContaining("seenRows 1");
    assertThatThrownBy(() -> new RowSampleSnapshot(2, 2, new float[] {0, Float.NaN}, 1, 0))
        .hasMessageContaining("non-finite");
    assertThatThrownBy(() -> RowSample.withCapacity(0, 4)).hasMessageContaining("capacity 0");
  }
}
