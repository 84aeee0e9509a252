package io.phasewatch.core.sketch;

import java.util.Arrays;
import java.util.Random;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;
import org.ejml.interfaces.decomposition.QRDecomposition;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;

/**
 * Test data and the reference linear algebra, computed straight from the definitions with EJML's
 * dense SVD and eigensolver on the full matrices, independently of the code under test.
 */
final class Matrices {

  /** Shapes of data the FD bound is checked on. */
  enum Kind {
    GAUSSIAN,
    LOW_RANK_PLUS_NOISE,
    POWER_LAW
  }

  private Matrices() {}

  /** n × d rows (row-major floats) of the given kind, plus a non-zero offset on every row. */
  static float[] rows(Kind kind, long seed, int n, int d) {
    Random rng = new Random(seed);
    double[] z = new double[n * d];
    switch (kind) {
      case GAUSSIAN -> {
        for (int i = 0; i < z.length; i++) {
          z[i] = rng.nextGaussian();
        }
      }
      case LOW_RANK_PLUS_NOISE -> {
        int rank = 1 + rng.nextInt(Math.max(1, d / 4));
        double[] u = gaussian(rng, n * rank);
        double[] v = gaussian(rng, rank * d);
        for (int i = 0; i < n; i++) {
          for (int k = 0; k < d; k++) {
            double s = 0;
            for (int r = 0; r < rank; r++) {
              s += u[i * rank + r] * v[r * d + k] * 5.0;
            }
            z[i * d + k] = s + 0.05 * rng.nextGaussian();
          }
        }
      }
      case POWER_LAW -> {
        double a = 0.5 + 1.5 * rng.nextDouble();
        DMatrixRMaj q = randomOrthogonal(rng, d);
        for (int i = 0; i < n; i++) {
          double[] g = gaussian(rng, d);
          for (int j = 0; j < d; j++) {
            g[j] *= Math.pow(j + 1, -a / 2);
          }
          for (int k = 0; k < d; k++) {
            double s = 0;
            for (int j = 0; j < d; j++) {
              s += g[j] * q.get(k, j);
            }
            z[i * d + k] = s;
          }
        }
      }
      default -> throw new IllegalStateException();
    }
    double[] offset = gaussian(rng, d);
    float[] out = new float[n * d];
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < d; k++) {
        out[i * d + k] = (float) (z[i * d + k] + 0.5 * offset[k]);
      }
    }
    return out;
  }

  /** Adds to every row one offset of {@code scale} times a Gaussian vector per coordinate. */
  static float[] withOffset(float[] rows, int d, long seed, double scale) {
    Random rng = new Random(~seed);
    float[] shift = new float[d];
    for (int k = 0; k < d; k++) {
      shift[k] = (float) (scale * rng.nextGaussian());
    }
    for (int i = 0; i < rows.length; i++) {
      rows[i] += shift[i % d];
    }
    return rows;
  }

  /** {mean, co-moment (row-major)} by the textbook two-pass formula, in double. */
  static double[][] twoPass(float[] rows, int n, int d) {
    double[] mean = new double[d];
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < d; k++) {
        mean[k] += rows[i * d + k];
      }
    }
    for (int k = 0; k < d; k++) {
      mean[k] = n == 0 ? 0 : mean[k] / n;
    }
    double[] m = new double[d * d];
    for (int i = 0; i < n; i++) {
      for (int a = 0; a < d; a++) {
        double xa = rows[i * d + a] - mean[a];
        for (int b = 0; b < d; b++) {
          m[a * d + b] += xa * (rows[i * d + b] - mean[b]);
        }
      }
    }
    return new double[][] {mean, m};
  }

  static double[] gaussian(Random rng, int count) {
    double[] g = new double[count];
    for (int i = 0; i < count; i++) {
      g[i] = rng.nextGaussian();
    }
    return g;
  }

  static DMatrixRMaj randomOrthogonal(Random rng, int d) {
    DMatrixRMaj g = new DMatrixRMaj(d, d, true, gaussian(rng, d * d));
    QRDecomposition<DMatrixRMaj> qr = DecompositionFactory_DDRM.qr(d, d);
    qr.decompose(g);
    return qr.getQ(null, false);
  }

  /** The first {@code n} rows of {@code rows} as a double n × d matrix. */
  static DMatrixRMaj matrix(float[] rows, int n, int d) {
    DMatrixRMaj a = new DMatrixRMaj(n, d);
    for (int i = 0; i < n * d; i++) {
      a.data[i] = rows[i];
    }
    return a;
  }

  static DMatrixRMaj gram(DMatrixRMaj a) {
    DMatrixRMaj g = new DMatrixRMaj(a.numCols, a.numCols);
    CommonOps_DDRM.multTransA(a, a, g);
    return g;
  }

  /** BᵀB of a snapshot's rows. */
  static DMatrixRMaj sketchGram(FdSnapshot s) {
    return gram(new DMatrixRMaj(s.rowCount(), s.dimension(), true, s.rows()));
  }

  /** Eigenvalues of a symmetric matrix, decreasing. */
  static double[] symmetricEigenvalues(DMatrixRMaj m) {
    EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(m.numRows, false, true);
    if (!eig.decompose(m.copy())) {
      throw new IllegalStateException("eigen-decomposition failed");
    }
    double[] l = new double[m.numRows];
    for (int i = 0; i < l.length; i++) {
      l[i] = eig.getEigenvalue(i).real;
    }
    Arrays.sort(l);
    for (int i = 0; i < l.length / 2; i++) {
      double t = l[i];
      l[i] = l[l.length - 1 - i];
      l[l.length - 1 - i] = t;
    }
    return l;
  }

  /** Squared singular values of A, decreasing (zeros where min(n, d) runs out). */
  static double[] squaredSingularValues(DMatrixRMaj a) {
    SingularValueDecomposition_F64<DMatrixRMaj> svd =
        DecompositionFactory_DDRM.svd(a.numRows, a.numCols, false, false, true);
    if (!svd.decompose(a.copy())) {
      throw new IllegalStateException("svd failed");
    }
    double[] s = svd.getSingularValues();
    double[] sq = new double[Math.max(a.numCols, s.length)];
    for (int i = 0; i < svd.numberOfSingularValues(); i++) {
      sq[i] = s[i] * s[i];
    }
    Arrays.sort(sq);
    for (int i = 0; i < sq.length / 2; i++) {
      double t = sq[i];
      sq[i] = sq[sq.length - 1 - i];
      sq[sq.length - 1 - i] = t;
    }
    return sq;
  }

  /** ‖A − A_k‖²_F = Σ_{i > k} σ_i². */
  static double tailMass(double[] squaredSingularValues, int k) {
    double t = 0;
    for (int i = k; i < squaredSingularValues.length; i++) {
      t += squaredSingularValues[i];
    }
    return t;
  }

  static DMatrixRMaj minus(DMatrixRMaj x, DMatrixRMaj y) {
    DMatrixRMaj r = new DMatrixRMaj(x.numRows, x.numCols);
    CommonOps_DDRM.subtract(x, y, r);
    return r;
  }

  /** Spectral norm of a symmetric matrix: the largest |eigenvalue|. */
  static double spectralNorm(DMatrixRMaj sym) {
    double[] l = symmetricEigenvalues(sym);
    return Math.max(Math.abs(l[0]), Math.abs(l[l.length - 1]));
  }
}
