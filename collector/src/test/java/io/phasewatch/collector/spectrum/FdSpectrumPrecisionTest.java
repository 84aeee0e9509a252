package io.phasewatch.collector.spectrum;

import static org.assertj.core.api.Assertions.assertThat;

import io.phasewatch.core.sketch.FdSnapshot;
import io.phasewatch.core.sketch.FrequentDirections;
import java.util.Arrays;
import java.util.Random;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A real sketch of uncentred rows whose mean is large against the spread: the FD rows then hold the
 * mean direction almost exactly, the worst case for going through the Gram matrix. Reference: the d
 * × d matrix {@code (BᵀB − nμμᵀ)/(n − 1)} formed explicitly and solved by EJML.
 */
class FdSpectrumPrecisionTest {

  @ParameterizedTest
  @CsvSource({"256, 3000, 32, 3.0", "256, 3000, 64, 30.0", "128, 500, 100, 0.0"})
  void sketchOfRowsWithALargeMeanMatchesTheExplicitCovariance(
      int d, int n, int ell, double meanScale) {
    Random rnd = new Random(d + n + ell);
    double[] mu = new double[d];
    for (int j = 0; j < d; j++) {
      mu[j] = meanScale * rnd.nextGaussian();
    }
    float[] rows = new float[n * d];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < d; j++) {
        rows[i * d + j] = (float) (mu[j] + rnd.nextGaussian() * Math.pow(j + 1, -0.4));
      }
    }
    FrequentDirections fd = FrequentDirections.withRows(ell, d);
    fd.update(rows, n);
    FdSnapshot s = fd.snapshot();

    DMatrixRMaj b = new DMatrixRMaj(s.rowCount(), d, true, s.rows());
    DMatrixRMaj c = new DMatrixRMaj(d, d);
    CommonOps_DDRM.multTransA(b, b, c);
    double[] m = s.mean();
    for (int i = 0; i < d; i++) {
      for (int j = 0; j < d; j++) {
        c.add(i, j, -n * m[i] * m[j]);
      }
    }
    CommonOps_DDRM.scale(1.0 / (n - 1), c);
    EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(d, false, true);
    assertThat(eig.decompose(c)).isTrue();
    double[] want = new double[d];
    for (int i = 0; i < d; i++) {
      want[i] = Math.max(0.0, eig.getEigenvalue(i).real);
    }
    Arrays.sort(want);

    Spectrum got = Spectrum.of(s);
    double tol = 1e-10 * want[d - 1];
    for (int i = 0; i < d; i++) {
      assertThat(Math.abs(got.eigenvalue(i) - want[d - 1 - i]))
          .as("λ_%d", i + 1)
          .isLessThanOrEqualTo(tol);
    }
  }
}
