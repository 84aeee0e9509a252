package io.phasewatch.core.sketch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.phasewatch.core.sketch.Matrices.Kind;
import java.util.Arrays;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class ExactSummaryTest {

  @Property(tries = 60)
  void batchedEqualsRowByRowEqualsTwoPassFormula(
      @ForAll Kind kind,
      @ForAll long seed,
      @ForAll @IntRange(min = 1, max = 40) int d,
      @ForAll @IntRange(min = 0, max = 600) int n) {
    float[] rows = Matrices.withOffset(Matrices.rows(kind, seed, n, d), d, seed, 100);
    ExactSummary batched = ExactSummary.ofDimension(d);
    batched.update(rows, n);
    ExactSummary single = ExactSummary.ofDimension(d);
    for (int i = 0; i < n; i++) {
      single.update(Arrays.copyOfRange(rows, i * d, (i + 1) * d));
    }
    double[][] reference = Matrices.twoPass(rows, n, d);
    assertClose(batched.snapshot(), n, reference);
    assertClose(single.snapshot(), n, reference);
  }

  @Property(tries = 60)
  void mergeOfAnySplitEqualsSummaryOfTheWhole(
      @ForAll Kind kind,
      @ForAll long seed,
      @ForAll @IntRange(min = 1, max = 30) int d,
      @ForAll @IntRange(min = 0, max = 400) int n,
      @ForAll @IntRange(min = 2, max = 6) int parts) {
    float[] rows = Matrices.withOffset(Matrices.rows(kind, seed, n, d), d, seed, 100);
    Random rng = new Random(seed);
    ExactSnapshot merged = null;
    int start = 0;
    for (int p = 0; p < parts; p++) {
      int end = p == parts - 1 ? n : start + rng.nextInt(n - start + 1);
      ExactSummary part = ExactSummary.ofDimension(d);
      part.update(Arrays.copyOfRange(rows, start * d, end * d), end - start);
      ExactSnapshot s = part.snapshot();
      merged =
          merged == null
              ? s
              : rng.nextBoolean()
                  ? ExactSummary.merge(merged, s)
                  : (ExactSnapshot) Snapshots.merge(s, merged);
      start = end;
    }
    assertClose(merged, n, Matrices.twoPass(rows, n, d));
  }

  @Test
  void nonFiniteRowsAreCountedAndLeftOutOfBothPaths() {
    int d = 4;
    float[] rows = {
      1,
      2,
      3,
      4, //
      Float.NaN,
      0,
      0,
      0, //
      5,
      6,
      7,
      9, //
      0,
      Float.POSITIVE_INFINITY,
      0,
      0, //
      -1,
      0,
      2,
      2, //
      0,
      0,
      0,
      Float.NEGATIVE_INFINITY
    };
    float[] finite = {1, 2, 3, 4, 5, 6, 7, 9, -1, 0, 2, 2};
    double[][] reference = Matrices.twoPass(finite, 3, d);
    ExactSummary batched = ExactSummary.ofDimension(d);
    batched.update(rows, 6);
    ExactSummary single = ExactSummary.ofDimension(d);
    for (int i = 0; i < 6; i++) {
      single.update(Arrays.copyOfRange(rows, i * d, (i + 1) * d));
    }
    for (ExactSnapshot s : new ExactSnapshot[] {batched.snapshot(), single.snapshot()}) {
      assertThat(s.nonFiniteRows()).isEqualTo(3);
      assertClose(s, 3, reference);
    }
    assertThat(ExactSummary.merge(batched.snapshot(), single.snapshot()).nonFiniteRows())
        .isEqualTo(6);
  }

  @Test
  void batchAndPanelEdgesAtLargerDimensionMatchTwoPassFormula() {
    int d = 300;
    int n = 2 * ExactSummary.BATCH_ROWS + 37;
    float[] rows = Matrices.withOffset(Matrices.rows(Kind.POWER_LAW, 11, n, d), d, 11, 100);
    ExactSummary s = ExactSummary.ofDimension(d);
    s.update(rows, 100);
    s.update(Arrays.copyOfRange(rows, 100 * d, n * d), n - 100);
    assertClose(s.snapshot(), n, Matrices.twoPass(rows, n, d));
  }

  @Test
  void handComputedCoMomentOfThreeRows() {
    // rows (0,0), (2,0), (4,6): mean (2,2); centred (−2,−2), (0,−2), (2,4).
    ExactSummary s = ExactSummary.ofDimension(2);
    s.update(new float[] {0, 0, 2, 0, 4, 6}, 3);
    ExactSnapshot snap = s.snapshot();
    assertThat(snap.mean()).containsExactly(2, 2);
    assertThat(snap.comoment()).containsExactly(8, 12, 12, 24);
  }

  @Test
  void resetForgetsEverything() {
    ExactSummary s = ExactSummary.ofDimension(3);
    s.update(new float[] {1, 2, 3, 4, 5, 6, Float.NaN, 0, 0}, 3);
    s.reset();
    ExactSnapshot snap = s.snapshot();
    assertThat(snap.count()).isZero();
    assertThat(snap.nonFiniteRows()).isZero();
    assertThat(snap.mean()).containsOnly(0.0);
    assertThat(snap.comoment()).containsOnly(0.0);
  }

  @Test
  void mergeAndFactoryRejectMismatchesByName() {
    ExactSnapshot a = ExactSummary.ofDimension(3).snapshot();
    ExactSnapshot b = ExactSummary.ofDimension(4).snapshot();
    assertThatThrownBy(() -> ExactSummary.merge(a, b))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("d=3")
        .hasMessageContaining("d=4");
    assertThatThrownBy(() -> Snapshots.merge(a, FrequentDirections.withRows(2, 3).snapshot()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("exact(d=3)")
        .hasMessageContaining("fd(ell=2, d=3)");
    assertThatThrownBy(() -> ExactSummary.ofDimension(0)).hasMessageContaining("d=0");
    assertThatThrownBy(() -> ExactSummary.ofDimension(ExactSummary.MAX_DIMENSION + 1))
        .hasMessageContaining(String.valueOf(ExactSummary.MAX_DIMENSION));
    assertThatThrownBy(() -> ExactSummary.ofDimension(3).update(new float[4], 2))
        .hasMessageContaining("rowCount·d = 6");
  }

  private static void assertClose(ExactSnapshot s, int n, double[][] reference) {
    assertThat(s.count()).isEqualTo(n);
    double[] mean = s.mean();
    double[] m = s.comoment();
    double scale = 1;
    int d = mean.length;
    for (int k = 0; k < d; k++) {
      scale = Math.max(scale, Math.abs(reference[1][k * d + k]));
    }
    for (int k = 0; k < d; k++) {
      assertThat(Math.abs(mean[k] - reference[0][k]))
          .as("mean[%d]", k)
          .isLessThanOrEqualTo(1e-12 * (1 + Math.abs(reference[0][k])));
    }
    for (int i = 0; i < m.length; i++) {
      assertThat(Math.abs(m[i] - reference[1][i]))
          .as("comoment[%d]", i)
          .isLessThanOrEqualTo(1e-10 * scale);
    }
  }
}
