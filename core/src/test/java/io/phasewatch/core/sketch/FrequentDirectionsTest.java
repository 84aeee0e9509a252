package io.phasewatch.core.sketch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.phasewatch.core.sketch.Matrices.Kind;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.ejml.data.DMatrixRMaj;
import org.junit.jupiter.api.Test;

class FrequentDirectionsTest {

  /** Rounding allowance relative to ‖A‖²_F: the reference and the sketch both work in double. */
  private static final double REL_TOL = 1e-9;

  @Property(tries = 80)
  void sketchStaysWithinErrorBoundForEveryK(
      @ForAll Kind kind,
      @ForAll long seed,
      @ForAll @IntRange(min = 2, max = 12) int ell,
      @ForAll @IntRange(min = 4, max = 40) int d,
      @ForAll @IntRange(min = 1, max = 300) int n) {
    float[] rows = Matrices.rows(kind, seed, n, d);
    FrequentDirections fd = FrequentDirections.withRows(ell, d);
    fd.update(rows, n);
    assertWithinBound(fd.snapshot(), rows, n, d, ell);
  }

  @Property(tries = 40)
  void mergeInAnyOrderAndTreeShapeStaysWithinErrorBound(
      @ForAll Kind kind,
      @ForAll long seed,
      @ForAll @IntRange(min = 2, max = 10) int ell,
      @ForAll @IntRange(min = 4, max = 30) int d,
      @ForAll @IntRange(min = 1, max = 400) int n,
      @ForAll @IntRange(min = 2, max = 9) int parts) {
    float[] rows = Matrices.rows(kind, seed, n, d);
    Random rng = new Random(seed ^ 0x9E3779B97F4A7C15L);
    List<FdSnapshot> pieces = new ArrayList<>();
    int start = 0;
    for (int p = 0; p < parts; p++) {
      int end = p == parts - 1 ? n : start + rng.nextInt(n - start + 1);
      FrequentDirections fd = FrequentDirections.withRows(ell, d);
      fd.update(Arrays.copyOfRange(rows, start * d, end * d), end - start);
      pieces.add(fd.snapshot());
      start = end;
    }
    // A random tree: repeatedly merge two random pieces (either order) until one is left.
    while (pieces.size() > 1) {
      FdSnapshot x = pieces.remove(rng.nextInt(pieces.size()));
      FdSnapshot y = pieces.remove(rng.nextInt(pieces.size()));
      pieces.add(
          rng.nextBoolean() ? FrequentDirections.merge(x, y) : (FdSnapshot) Snapshots.merge(y, x));
    }
    FdSnapshot merged = pieces.get(0);
    assertWithinBound(merged, rows, n, d, ell);
    assertExactMoments(merged, rows, n, d);
  }

  @Property(tries = 60)
  void sketchOfAtMostEllRowsIsExact(
      @ForAll Kind kind,
      @ForAll long seed,
      @ForAll @IntRange(min = 1, max = 16) int ell,
      @ForAll @IntRange(min = 2, max = 30) int d,
      @ForAll @IntRange(min = 1, max = 16) int n) {
    int rowsIn = Math.min(n, ell);
    float[] rows = Matrices.rows(kind, seed, rowsIn, d);
    FrequentDirections fd = FrequentDirections.withRows(ell, d);
    fd.update(rows, rowsIn);
    FdSnapshot s = fd.snapshot();
    DMatrixRMaj a = Matrices.matrix(rows, rowsIn, d);
    double scale = Math.max(1, sumOfSquares(rows, rowsIn, d));
    assertThat(s.shrinkage()).isZero();
    assertThat(Matrices.spectralNorm(Matrices.minus(Matrices.gram(a), Matrices.sketchGram(s))))
        .isLessThanOrEqualTo(1e-12 * scale);
  }

  @Property(tries = 60)
  void countMeanAndSumOfSquaresAreExact(
      @ForAll Kind kind,
      @ForAll long seed,
      @ForAll @IntRange(min = 1, max = 8) int ell,
      @ForAll @IntRange(min = 1, max = 30) int d,
      @ForAll @IntRange(min = 0, max = 200) int n) {
    float[] rows = Matrices.rows(kind, seed, n, d);
    FrequentDirections fd = FrequentDirections.withRows(ell, d);
    fd.update(rows, n);
    assertExactMoments(fd.snapshot(), rows, n, d);
  }

  @Property(tries = 30)
  void batchedUpdateEqualsRowByRowUpdate(
      @ForAll long seed,
      @ForAll @IntRange(min = 1, max = 8) int ell,
      @ForAll @IntRange(min = 1, max = 20) int d,
      @ForAll @IntRange(min = 0, max = 100) int n) {
    float[] rows = Matrices.rows(Kind.GAUSSIAN, seed, n, d);
    FrequentDirections batched = FrequentDirections.withRows(ell, d);
    batched.update(rows, n);
    FrequentDirections single = FrequentDirections.withRows(ell, d);
    for (int i = 0; i < n; i++) {
      single.update(Arrays.copyOfRange(rows, i * d, (i + 1) * d));
    }
    assertThat(single.snapshot()).isEqualTo(batched.snapshot());
  }

  @Test
  void boundHoldsAcrossPanelEdgesAtLargerDimension() {
    int ell = 40;
    int d = 300;
    int n = 500;
    for (Kind kind : Kind.values()) {
      float[] rows = Matrices.rows(kind, 5, n, d);
      FrequentDirections fd = FrequentDirections.withRows(ell, d);
      fd.update(rows, n);
      assertWithinBound(fd.snapshot(), rows, n, d, ell);
    }
  }

  @Test
  void snapshotLeavesTheLiveSketchUndisturbed() {
    int ell = 6;
    int d = 12;
    int n = 100;
    float[] rows = Matrices.rows(Kind.POWER_LAW, 7, n, d);
    FrequentDirections watched = FrequentDirections.withRows(ell, d);
    FrequentDirections unwatched = FrequentDirections.withRows(ell, d);
    for (int i = 0; i < n; i++) {
      float[] row = Arrays.copyOfRange(rows, i * d, (i + 1) * d);
      watched.update(row);
      unwatched.update(row);
      if (i % 3 == 0) {
        watched.snapshot();
      }
    }
    assertThat(watched.snapshot()).isEqualTo(unwatched.snapshot());
  }

  @Test
  void nonFiniteRowsAreCountedAndLeftOut() {
    int d = 5;
    float[] clean = Matrices.rows(Kind.GAUSSIAN, 3, 40, d);
    float[] dirty = new float[43 * d];
    int w = 0;
    for (int i = 0; i < 40; i++) {
      if (i == 0 || i == 17 || i == 39) {
        float[] bad = {1, 2, Float.NaN, 4, 5};
        bad[i % 5] = i == 17 ? Float.POSITIVE_INFINITY : bad[i % 5];
        if (i == 39) {
          bad[4] = Float.NEGATIVE_INFINITY;
        }
        System.arraycopy(bad, 0, dirty, w, d);
        w += d;
      }
      System.arraycopy(clean, i * d, dirty, w, d);
      w += d;
    }
    FrequentDirections cleanFd = FrequentDirections.withRows(4, d);
    cleanFd.update(clean, 40);
    FrequentDirections dirtyFd = FrequentDirections.withRows(4, d);
    dirtyFd.update(dirty, 43);
    FdSnapshot s = dirtyFd.snapshot();
    assertThat(s.nonFiniteRows()).isEqualTo(3);
    assertThat(s.count()).isEqualTo(40);
    FdSnapshot c = cleanFd.snapshot();
    assertThat(s.rows()).containsExactly(c.rows());
    assertThat(s.mean()).containsExactly(c.mean());
    FrequentDirections single = FrequentDirections.withRows(4, d);
    single.update(new float[] {Float.NaN, 0, 0, 0, 0});
    assertThat(single.snapshot().nonFiniteRows()).isEqualTo(1);
    assertThat(single.snapshot().count()).isZero();
  }

  @Test
  void resetForgetsEverything() {
    FrequentDirections fd = FrequentDirections.withRows(3, 4);
    fd.update(Matrices.rows(Kind.GAUSSIAN, 1, 20, 4), 20);
    fd.update(new float[] {Float.NaN, 0, 0, 0});
    fd.reset();
    FdSnapshot s = fd.snapshot();
    assertThat(s.count()).isZero();
    assertThat(s.rowCount()).isZero();
    assertThat(s.sumOfSquares()).isZero();
    assertThat(s.shrinkage()).isZero();
    assertThat(s.nonFiniteRows()).isZero();
    assertThat(s.mean()).containsOnly(0.0);
  }

  @Test
  void mergeRejectsDifferentEllOrDimension() {
    FdSnapshot a = FrequentDirections.withRows(4, 8).snapshot();
    assertThatThrownBy(
            () -> FrequentDirections.merge(a, FrequentDirections.withRows(5, 8).snapshot()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("ell=4")
        .hasMessageContaining("ell=5");
    assertThatThrownBy(
            () -> FrequentDirections.merge(a, FrequentDirections.withRows(4, 9).snapshot()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("d=8")
        .hasMessageContaining("d=9");
  }

  @Test
  void factoryAndUpdateRejectBadArgumentsByName() {
    assertThatThrownBy(() -> FrequentDirections.withRows(0, 8)).hasMessageContaining("ell=0");
    assertThatThrownBy(() -> FrequentDirections.withRows(4, 0)).hasMessageContaining("d=0");
    FrequentDirections fd = FrequentDirections.withRows(2, 3);
    assertThatThrownBy(() -> fd.update(new float[2])).hasMessageContaining("d=3");
    assertThatThrownBy(() -> fd.update(new float[5], 2)).hasMessageContaining("rowCount·d = 6");
    assertThatThrownBy(() -> fd.update(new float[5], -1)).hasMessageContaining("rowCount");
  }

  private static void assertWithinBound(FdSnapshot s, float[] rows, int n, int d, int ell) {
    DMatrixRMaj a = Matrices.matrix(rows, n, d);
    DMatrixRMaj diff = Matrices.minus(Matrices.gram(a), Matrices.sketchGram(s));
    double[] sq = Matrices.squaredSingularValues(a);
    double tol = REL_TOL * Math.max(1, Matrices.tailMass(sq, 0));
    double[] l = Matrices.symmetricEigenvalues(diff);
    double err = Math.max(Math.abs(l[0]), Math.abs(l[l.length - 1]));
    assertThat(s.rowCount()).isLessThanOrEqualTo(ell);
    // 0 ⪯ AᵀA − BᵀB
    assertThat(l[l.length - 1]).isGreaterThanOrEqualTo(-tol);
    // ‖AᵀA − BᵀB‖₂ ≤ Δ
    assertThat(err).isLessThanOrEqualTo(s.shrinkage() + tol);
    for (int k = 0; k < ell; k++) {
      double bound = Matrices.tailMass(sq, k) / (ell - k);
      assertThat(err).as("k=%d", k).isLessThanOrEqualTo(bound + tol);
      assertThat(s.shrinkage()).as("Δ, k=%d", k).isLessThanOrEqualTo(bound + tol);
    }
  }

  private static void assertExactMoments(FdSnapshot s, float[] rows, int n, int d) {
    assertThat(s.count()).isEqualTo(n);
    double[] mean = new double[d];
    double ss = 0;
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < d; k++) {
        double v = rows[i * d + k];
        mean[k] += v;
        ss += v * v;
      }
    }
    double[] got = s.mean();
    for (int k = 0; k < d; k++) {
      mean[k] = n == 0 ? 0 : mean[k] / n;
      assertThat(got[k]).isCloseTo(mean[k], within(1e-12 * (1 + Math.abs(mean[k]))));
    }
    assertThat(s.sumOfSquares()).isCloseTo(ss, within(1e-12 * (1 + ss)));
  }

  private static double sumOfSquares(float[] rows, int n, int d) {
    double ss = 0;
    for (int i = 0; i < n * d; i++) {
      ss += (double) rows[i] * rows[i];
    }
    return ss;
  }
}
