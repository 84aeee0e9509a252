package io.phasewatch.core.sketch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The values-only solver against matrices with eigenvalues known by construction ({@code Q Λ Qᵀ}, Q
 * a random orthogonal matrix) and against EJML's symmetric QR algorithm. The tolerance is the
 * backward-stability bound {@code c·n·ε·‖A‖₂} with a generous constant. The numpy comparison on
 * real covariances is in the collector's {@code SpectralMeasuresTest}, which goes through this
 * solver.
 */
class SymmetricEigenTest {

  private static final double EPS = Math.ulp(1.0);

  @ParameterizedTest
  @ValueSource(ints = {3, 4, 17, 64, 130, 257})
  void randomSymmetricMatrixMatchesEjml(int n) {
    Random rng = new Random(n);
    double[] a = symmetric(rng, n);
    double[] want = Matrices.symmetricEigenvalues(new DMatrixRMaj(n, n, true, a));
    assertClose(SymmetricEigen.values(a, n), want, 64 * n * EPS * Math.abs(want[0]));
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 3, 5, 40, 200})
  void conjugatedDiagonalGivesItsEigenvaluesBack(int n) {
    Random rng = new Random(31 + n);
    double[] lambda = new double[n];
    for (int i = 0; i < n; i++) {
      lambda[i] = 10 * rng.nextGaussian();
    }
    assertSpectrum(conjugate(rng, lambda), lambda);
  }

  @Test
  void positiveSemidefiniteRankDeficientMatrixHasExactZeros() {
    int n = 150;
    Random rng = new Random(5);
    double[] lambda = new double[n];
    for (int i = 0; i < 40; i++) {
      lambda[i] = 1 + rng.nextDouble() * 100;
    }
    double[] got = assertSpectrum(conjugate(rng, lambda), lambda);
    assertThat(Math.abs(got[40])).isLessThan(64 * n * EPS * 101);
  }

  @Test
  void repeatedEigenvaluesAreAllFound() {
    double[] lambda = new double[90];
    for (int i = 0; i < lambda.length; i++) {
      lambda[i] = i < 30 ? 2.0 : (i < 60 ? -1.0 : 0.5);
    }
    assertSpectrum(conjugate(new Random(9), lambda), lambda);
  }

  @Test
  void gradedSpectrumOverTwelveDecadesIsAccurateToTheLargest() {
    int n = 120;
    double[] geometric = new double[n];
    double[] inverseSquare = new double[n];
    for (int i = 0; i < n; i++) {
      geometric[i] = Math.pow(10, -12.0 * i / (n - 1));
      inverseSquare[i] = Math.pow(i + 1, -2);
    }
    assertSpectrum(conjugate(new Random(2), geometric), geometric);
    assertSpectrum(conjugate(new Random(3), inverseSquare), inverseSquare);
  }

  @Test
  void diagonalMatrixIsReturnedExactlyInDescendingOrder() {
    double[] lambda = {1e-12, 3.0, -7.5, 1e12, 0.0, 3.0};
    int n = lambda.length;
    double[] a = new double[n * n];
    for (int i = 0; i < n; i++) {
      a[i * n + i] = lambda[i];
    }
    assertThat(SymmetricEigen.values(a, n)).containsExactly(1e12, 3.0, 3.0, 1e-12, 0.0, -7.5);
  }

  @Test
  void smallMatricesHaveTheirClosedFormEigenvalues() {
    assertThat(SymmetricEigen.values(new double[] {-4.25}, 1)).containsExactly(-4.25);
    // [[2, 1], [1, 2]]: 3 and 1.
    assertClose(SymmetricEigen.values(new double[] {2, 1, 1, 2}, 2), new double[] {3, 1}, 4 * EPS);
    // [[2, -1, 0], [-1, 2, -1], [0, -1, 2]]: 2 + √2, 2, 2 − √2.
    double[] t = {2, -1, 0, -1, 2, -1, 0, -1, 2};
    double r = Math.sqrt(2);
    assertClose(SymmetricEigen.values(t, 3), new double[] {2 + r, 2, 2 - r}, 16 * EPS);
    // A full 3 × 3 without zeros: [[4, 1, 2], [1, 3, 0.5], [2, 0.5, 5]] vs EJML.
    double[] f = {4, 1, 2, 1, 3, 0.5, 2, 0.5, 5};
    assertClose(
        SymmetricEigen.values(f, 3),
        Matrices.symmetricEigenvalues(new DMatrixRMaj(3, 3, true, f)),
        64 * EPS);
  }

  @Test
  void zeroMatrixHasZeroEigenvalues() {
    assertThat(SymmetricEigen.values(new double[49], 7)).containsOnly(0.0).hasSize(7);
  }

  @Test
  void onlyTheUpperTriangleIsReadAndTheInputIsKept() {
    int n = 20;
    Random rng = new Random(4);
    double[] a = symmetric(rng, n);
    double[] want = SymmetricEigen.values(a, n);
    double[] garbled = a.clone();
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < i; j++) {
        garbled[i * n + j] = 1e6 * rng.nextGaussian();
      }
    }
    double[] copy = garbled.clone();
    assertThat(SymmetricEigen.values(garbled, n)).containsExactly(want);
    assertThat(garbled).containsExactly(copy);
  }

  @Test
  void badInputIsRejectedWithItsName() {
    assertThatThrownBy(() -> SymmetricEigen.values(new double[5], 2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("n=2")
        .hasMessageContaining("length=5");
    double[] a = {1, Double.NaN, Double.NaN, 1};
    assertThatThrownBy(() -> SymmetricEigen.values(a, 2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("(0, 1)");
    assertThatThrownBy(
            () -> SymmetricEigen.valuesOfWeightedGram(new double[6], 2, 3, new double[3]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("weights=3");
  }

  /** Σλ = tr A and Σλ² = ‖A‖²_F: both are invariant under the orthogonal similarity. */
  @Property(tries = 60)
  void eigenvaluesKeepTraceAndFrobeniusNorm(
      @ForAll @IntRange(min = 1, max = 80) int n,
      @ForAll @DoubleRange(min = -6, max = 6) double log10Scale,
      @ForAll long seed) {
    double scale = Math.pow(10, log10Scale);
    double[] a = symmetric(new Random(seed), n);
    double trace = 0;
    double frob = 0;
    for (int i = 0; i < n * n; i++) {
      a[i] *= scale;
      frob += a[i] * a[i];
    }
    for (int i = 0; i < n; i++) {
      trace += a[i * n + i];
    }
    double[] l = SymmetricEigen.values(a, n);
    double sum = 0;
    double sumSq = 0;
    for (double v : l) {
      sum += v;
      sumSq += v * v;
    }
    double norm = Math.sqrt(frob);
    assertThat(Math.abs(sum - trace)).isLessThanOrEqualTo(64 * n * EPS * norm * Math.sqrt(n));
    assertThat(Math.abs(sumSq - frob)).isLessThanOrEqualTo(64 * n * EPS * frob);
    for (int i = 1; i < n; i++) {
      assertThat(l[i]).isLessThanOrEqualTo(l[i - 1]);
    }
  }

  /** Σ w_i x_i x_iᵀ formed explicitly (cols × cols) and solved by EJML, for mixed-sign weights. */
  @Property(tries = 40)
  void weightedGramMatchesTheExplicitMatrix(
      @ForAll @IntRange(min = 1, max = 40) int rows,
      @ForAll @IntRange(min = 1, max = 60) int cols,
      @ForAll @IntRange(min = 0, max = 3) int duplicateRows,
      @ForAll long seed) {
    Random rng = new Random(seed);
    double[] x = Matrices.gaussian(rng, rows * cols);
    for (int k = 0; k < Math.min(duplicateRows, rows - 1); k++) {
      System.arraycopy(x, 0, x, (k + 1) * cols, cols); // rank deficiency
    }
    double[] w = new double[rows];
    for (int i = 0; i < rows; i++) {
      w[i] = rng.nextBoolean() ? rng.nextDouble() : -rng.nextDouble() * 3;
    }
    DMatrixRMaj full = new DMatrixRMaj(cols, cols);
    for (int i = 0; i < rows; i++) {
      for (int p = 0; p < cols; p++) {
        for (int q = 0; q < cols; q++) {
          full.add(p, q, w[i] * x[i * cols + p] * x[i * cols + q]);
        }
      }
    }
    double[] all = Matrices.symmetricEigenvalues(full);
    double[] got = SymmetricEigen.valuesOfWeightedGram(x, rows, cols, w);
    assertThat(got).hasSize(Math.min(rows, cols));
    // The explicit matrix has cols eigenvalues, at most min(rows, cols) of them non-zero: compare
    // the multisets after padding ours with zeros.
    double[] padded = Arrays.copyOf(got, cols);
    Arrays.sort(padded);
    Arrays.sort(all);
    double norm = CommonOps_DDRM.elementMaxAbs(full) * cols + 1e-300;
    for (int i = 0; i < cols; i++) {
      assertThat(Math.abs(padded[i] - all[i])).as("λ_%d", i).isLessThan(1e-11 * norm);
    }
  }

  @Test
  void weightedGramOfZeroRowsIsZero() {
    assertThat(SymmetricEigen.valuesOfWeightedGram(new double[12], 3, 4, new double[] {1, -2, 1}))
        .containsExactly(0.0, 0.0, 0.0);
  }

  private static double[] assertSpectrum(double[] a, double[] lambda) {
    int n = lambda.length;
    double[] want = lambda.clone();
    Arrays.sort(want);
    reverse(want);
    double max = Math.max(Math.abs(want[0]), Math.abs(want[n - 1]));
    double[] got = SymmetricEigen.values(a, n);
    assertClose(got, want, 64 * n * EPS * max);
    return got;
  }

  private static void assertClose(double[] got, double[] want, double tol) {
    assertThat(got).hasSize(want.length);
    for (int i = 0; i < want.length; i++) {
      assertThat(Math.abs(got[i] - want[i]))
          .as("λ_%d: got %s, want %s", i + 1, got[i], want[i])
          .isLessThanOrEqualTo(tol);
    }
  }

  private static double[] symmetric(Random rng, int n) {
    double[] a = new double[n * n];
    for (int i = 0; i < n; i++) {
      for (int j = i; j < n; j++) {
        double v = rng.nextGaussian();
        a[i * n + j] = v;
        a[j * n + i] = v;
      }
    }
    return a;
  }

  /** Q diag(λ) Qᵀ, symmetrised exactly. */
  private static double[] conjugate(Random rng, double[] lambda) {
    int n = lambda.length;
    DMatrixRMaj q = Matrices.randomOrthogonal(rng, n);
    DMatrixRMaj ql = q.copy();
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        ql.set(i, j, q.get(i, j) * lambda[j]);
      }
    }
    DMatrixRMaj a = new DMatrixRMaj(n, n);
    CommonOps_DDRM.multTransB(ql, q, a);
    double[] out = a.getData();
    for (int i = 0; i < n; i++) {
      for (int j = i + 1; j < n; j++) {
        out[j * n + i] = out[i * n + j];
      }
    }
    return out;
  }

  private static void reverse(double[] a) {
    for (int i = 0, j = a.length - 1; i < j; i++, j--) {
      double t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
}
