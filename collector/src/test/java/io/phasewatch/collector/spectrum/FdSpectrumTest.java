package io.phasewatch.collector.spectrum;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.core.sketch.FdSnapshot;
import io.phasewatch.core.sketch.FrequentDirections;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.SingularOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FdSpectrumTest {

  @ParameterizedTest
  @ValueSource(strings = {"n_lt_d", "tiny"})
  void fdSnapshotHoldingAllRowsHasTheExactSpectrum(String name) {
    double[][] z = Fixtures.readF8(name);
    Spectrum exact = Spectrum.of(Fixtures.exact(z));
    Spectrum fd = Spectrum.of(Fixtures.fdOfRawRows(z, 64));
    assertThat(fd.kind()).isEqualTo(Spectrum.Kind.FREQUENT_DIRECTIONS);
    assertSameSpectrum(fd, exact, Fixtures.mean(z));
    SpectralMeasures a = SpectralMeasures.of(exact);
    SpectralMeasures b = SpectralMeasures.of(fd);
    assertThat(b.effectiveRank()).isCloseTo(a.effectiveRank(), within(1e-8 * a.effectiveRank()));
    if (!Double.isNaN(a.alpha())) {
      assertThat(b.alpha()).isCloseTo(a.alpha(), within(1e-8));
    }
    assertThat(b.effectiveRankErrorBound()).isLessThan(1e-6 * a.effectiveRank());
  }

  @ParameterizedTest
  @ValueSource(strings = {"n_lt_d", "big_mean"})
  void rotatedSketchRowsGiveTheSameSpectrum(String name) {
    double[][] z = Fixtures.readF8(name);
    int n = z.length;
    int d = z[0].length;
    // B = Q A with Q orthogonal has BᵀB = AᵀA: any exact FD state looks like this.
    DMatrixRMaj q = randomOrthogonal(n, new Random(7));
    DMatrixRMaj a = new DMatrixRMaj(z);
    DMatrixRMaj b = new DMatrixRMaj(n, d);
    CommonOps_DDRM.mult(q, a, b);
    double ss = CommonOps_DDRM.elementSumAbs(CommonOps_DDRM.elementPower(a, 2, null));
    FdSnapshot fd = new FdSnapshot(n, n, Fixtures.mean(z), b.getData(), ss, 0.0, 0);
    assertSameSpectrum(Spectrum.of(fd), Spectrum.of(Fixtures.exact(z)), Fixtures.mean(z));
  }

  @ParameterizedTest
  @ValueSource(strings = {"n_lt_d", "tiny", "big_mean"})
  void frequentDirectionsWithNoMoreRowsThanEllMatchesTheExactSummary(String name) {
    double[][] z = Fixtures.readF8(name);
    int d = z[0].length;
    FrequentDirections fd = FrequentDirections.withRows(z.length, d);
    ExactSummary exact = ExactSummary.ofDimension(d);
    float[] rows = new float[z.length * d];
    for (int i = 0; i < z.length; i++) {
      for (int j = 0; j < d; j++) {
        rows[i * d + j] = (float) z[i][j];
      }
    }
    fd.update(rows, z.length);
    exact.update(rows, z.length);
    Spectrum e = Spectrum.of(exact.snapshot());
    assertSameSpectrum(Spectrum.of(fd.snapshot()), e, Fixtures.mean(z));
    SpectralMeasures a = SpectralMeasures.of(e);
    SpectralMeasures b = SpectralMeasures.of(Spectrum.of(fd.snapshot()));
    assertThat(b.effectiveRank()).isCloseTo(a.effectiveRank(), within(1e-6 * a.effectiveRank()));
    if (!Double.isNaN(a.alpha())) {
      assertThat(b.alpha()).isCloseTo(a.alpha(), within(1e-6));
    }
  }

  /** Real Frequent Directions on power-law rows: the exact measures lie in its intervals. */
  @Property(tries = 10)
  void frequentDirectionsIntervalsContainTheExactMeasures(
      @ForAll @IntRange(min = 24, max = 100) int ell,
      @ForAll @DoubleRange(min = 0.6, max = 1.8) double a,
      @ForAll long seed) {
    int d = 128;
    double[][] z = powerLaw(700, d, a, 2.0, new Random(seed));
    float[] rows = new float[z.length * d];
    for (int i = 0; i < z.length; i++) {
      for (int j = 0; j < d; j++) {
        rows[i * d + j] = (float) z[i][j];
      }
    }
    ExactSummary exact = ExactSummary.ofDimension(d);
    exact.update(rows, z.length);
    FrequentDirections fd = FrequentDirections.withRows(ell, d);
    fd.update(rows, z.length);
    FitRange w = new FitRange(2, 20);
    SpectralMeasures truth = SpectralMeasures.of(Spectrum.of(exact.snapshot()), w);
    SpectralMeasures m = SpectralMeasures.of(Spectrum.of(fd.snapshot()), w);
    double slack = 1e-7 * truth.effectiveRank();
    assertThat(truth.effectiveRank())
        .isBetween(m.effectiveRankLow() - slack, m.effectiveRankHigh() + slack);
    assertThat(truth.alpha()).isBetween(m.alphaLow() - 1e-7, m.alphaHigh() + 1e-7);
  }

  /**
   * An FD-like sketch built from the SVD of A (shrink every kept σ² by σ²_{ℓ+1}, drop the rest) has
   * exactly FD's guarantee 0 ≼ AᵀA − BᵀB ≼ σ²_{ℓ+1}·I; the true measures must lie in the intervals.
   */
  @Property(tries = 25)
  void trueMeasuresLieInsideTheFdIntervals(
      @ForAll @IntRange(min = 20, max = 110) int ell,
      @ForAll @DoubleRange(min = 0.5, max = 2.0) double a,
      @ForAll @IntRange(min = 0, max = 1) int fewRows,
      @ForAll long seed) {
    int d = 128;
    int n = fewRows == 1 ? 100 : 600;
    double[][] z = powerLaw(n, d, a, 3.0, new Random(seed));
    SpectralMeasures truth =
        SpectralMeasures.of(Spectrum.of(Fixtures.exact(z)), new FitRange(2, 18));
    FdSnapshot sketch = svdSketch(z, ell);
    Spectrum fd = Spectrum.of(sketch);
    SpectralMeasures m = SpectralMeasures.of(fd, new FitRange(2, 18));

    assertThat(fd.totalVariance())
        .isCloseTo(truth.totalVariance(), within(1e-9 * truth.totalVariance()));
    double slack = 1e-9 * truth.effectiveRank();
    assertThat(truth.effectiveRank())
        .isBetween(m.effectiveRankLow() - slack, m.effectiveRankHigh() + slack);
    assertThat(m.fitRange()).isEqualTo(truth.fitRange());
    assertThat(truth.alpha()).isBetween(m.alphaLow() - 1e-9, m.alphaHigh() + 1e-9);
  }

  private static FdSnapshot svdSketch(double[][] z, int ell) {
    int n = z.length;
    int d = z[0].length;
    DMatrixRMaj a = new DMatrixRMaj(z);
    SingularValueDecomposition_F64<DMatrixRMaj> svd =
        DecompositionFactory_DDRM.svd(n, d, false, true, true);
    assertThat(svd.decompose(a.copy())).isTrue();
    DMatrixRMaj w = svd.getW(null);
    DMatrixRMaj vt = svd.getV(null, true);
    SingularOps_DDRM.descendingOrder(null, false, w, vt, true);
    int k = Math.min(w.numRows, w.numCols);
    double delta = ell < k ? w.get(ell, ell) * w.get(ell, ell) : 0.0;
    int keep = Math.min(ell, k);
    double[] rows = new double[keep * d];
    for (int i = 0; i < keep; i++) {
      double s = Math.sqrt(Math.max(0.0, w.get(i, i) * w.get(i, i) - delta));
      for (int j = 0; j < d; j++) {
        rows[i * d + j] = s * vt.get(i, j);
      }
    }
    double ss = 0;
    for (double[] row : z) {
      for (double v : row) {
        ss += v * v;
      }
    }
    return new FdSnapshot(ell, n, Fixtures.mean(z), rows, ss, delta, 0);
  }

  static double[][] powerLaw(int n, int d, double a, double meanScale, Random rnd) {
    DMatrixRMaj q = randomOrthogonal(d, rnd);
    double[] mu = new double[d];
    for (int j = 0; j < d; j++) {
      mu[j] = meanScale * rnd.nextGaussian();
    }
    double[][] z = new double[n][d];
    double[] g = new double[d];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < d; j++) {
        g[j] = rnd.nextGaussian() * Math.pow(j + 1, -a / 2);
      }
      for (int r = 0; r < d; r++) {
        double s = mu[r];
        for (int j = 0; j < d; j++) {
          s += q.get(r, j) * g[j];
        }
        z[i][r] = s;
      }
    }
    return z;
  }

  private static DMatrixRMaj randomOrthogonal(int n, Random rnd) {
    DMatrixRMaj g = new DMatrixRMaj(n, n);
    for (int i = 0; i < n * n; i++) {
      g.data[i] = rnd.nextGaussian();
    }
    var qr = DecompositionFactory_DDRM.qr(n, n);
    qr.decompose(g);
    return qr.getQ(null, false);
  }

  /**
   * Sketching uncentred rows costs an absolute error of order ε·(‖μ‖² + tr C) on each eigenvalue
   * (Spectrum#ofFd); the tolerance allows 64 times that on top of 1e-9·λ_1.
   */
  private static void assertSameSpectrum(Spectrum fd, Spectrum exact, double[] mean) {
    double mu2 = 0;
    for (double v : mean) {
      mu2 += v * v;
    }
    double tol = 1e-9 * exact.eigenvalue(0) + 64 * Math.ulp(1.0) * (mu2 + exact.totalVariance());
    for (int i = 0; i < exact.dimension(); i++) {
      assertThat(fd.eigenvalue(i)).as("λ_%d", i + 1).isCloseTo(exact.eigenvalue(i), within(tol));
    }
    assertThat(fd.totalVariance())
        .isCloseTo(exact.totalVariance(), within(1e-9 * exact.totalVariance() + tol));
    assertThat(fd.droppedVariance()).isLessThan(1e-9 * exact.totalVariance() + tol);
  }
}
