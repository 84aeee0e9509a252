package io.phasewatch.collector.spectrum;

import io.phasewatch.agent.sketch.CovarianceSnapshot;
import io.phasewatch.agent.sketch.ExactSnapshot;
import io.phasewatch.agent.sketch.FdSnapshot;
import java.util.Arrays;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * Eigenvalues of the centred sample covariance {@code C = Σ (x − μ)(x − μ)ᵀ / (n − 1)} of one
 * window, in descending order, with the window's exact total variance {@code tr C}.
 *
 * <p>Normalisation is {@code 1/(n − 1)} (numpy's {@code np.cov}); with {@code n ≤ 1} the divisor is
 * 1. RankMe and α do not depend on it.
 *
 * <p>For a Frequent Directions snapshot the eigenvalues are those of {@code BᵀB − nμμᵀ}: each is
 * within {@code [λ̂_i, λ̂_i + shrinkage]} of the true one (Ghashami et al. 2016 with Weyl's
 * inequality); {@link #capturedVariance()} is their trace, {@link #droppedVariance()} is what the
 * sketch shrank away, known exactly because the snapshot carries {@code Σ‖a‖²}. Rounding and the
 * sketch's under-estimate can leave tiny negative eigenvalues; they are clamped to 0 (true
 * covariance eigenvalues are never negative).
 *
 * @param eigenvalues descending, all ≥ 0; for FD at most ℓ + 1 of them (the rest are 0)
 * @param count rows n in the window
 * @param dimension d
 * @param shrinkage FD's accumulated shrinkage on the covariance scale (0 for exact)
 */
public record Spectrum(
    double[] eigenvalues,
    long count,
    int dimension,
    Kind kind,
    double totalVariance,
    double capturedVariance,
    double shrinkage) {

  /** Where the eigenvalues came from. */
  public enum Kind {
    EXACT,
    FREQUENT_DIRECTIONS,
    /** Eigenvalues handed in directly (tests, other tools). */
    GIVEN
  }

  /** The largest d for which an exact snapshot's d × d eigenproblem is solved. */
  public static final int MAX_EXACT_DIMENSION = 8192;

  public Spectrum {
    if (eigenvalues == null || dimension < 1 || eigenvalues.length > dimension) {
      throw new IllegalArgumentException(
          "spectrum: need 1 ≤ eigenvalue count ≤ d, got "
              + (eigenvalues == null ? "null" : eigenvalues.length)
              + " for d="
              + dimension);
    }
    if (count < 0 || kind == null) {
      throw new IllegalArgumentException("spectrum: count must be ≥ 0 and kind non-null");
    }
    eigenvalues = eigenvalues.clone();
    for (int i = 0; i < eigenvalues.length; i++) {
      double v = eigenvalues[i];
      if (!Double.isFinite(v) || v < 0) {
        throw new IllegalArgumentException(
            "spectrum: eigenvalue " + i + " = " + v + " must be finite and ≥ 0");
      }
      if (i > 0 && v > eigenvalues[i - 1]) {
        throw new IllegalArgumentException("spectrum: eigenvalues must be in descending order");
      }
    }
    if (!(totalVariance >= 0) || !(capturedVariance >= 0) || !(shrinkage >= 0)) {
      throw new IllegalArgumentException(
          "spectrum: total "
              + totalVariance
              + ", captured "
              + capturedVariance
              + " and shrinkage "
              + shrinkage
              + " must be finite and ≥ 0");
    }
  }

  /** The spectrum of a snapshot: exact (EJML symmetric eigensolver) or FD (small ℓ+1 problem). */
  public static Spectrum of(CovarianceSnapshot snapshot) {
    if (snapshot instanceof ExactSnapshot e) {
      return ofExact(e);
    }
    return ofFd((FdSnapshot) snapshot);
  }

  /**
   * A spectrum given directly (any order, negatives rejected); total variance is the sum. For tests
   * and for eigenvalues computed elsewhere.
   */
  public static Spectrum ofEigenvalues(double[] eigenvalues, long count) {
    double[] sorted = eigenvalues.clone();
    Arrays.sort(sorted);
    reverse(sorted);
    double sum = 0;
    for (double v : sorted) {
      sum += v;
    }
    return new Spectrum(sorted, count, sorted.length, Kind.GIVEN, sum, sum, 0);
  }

  public double[] eigenvalues() {
    return eigenvalues.clone();
  }

  /** Eigenvalue i (0-based), 0 past the stored ones. */
  public double eigenvalue(int i) {
    return i < eigenvalues.length ? eigenvalues[i] : 0.0;
  }

  /** Number of stored eigenvalues (d for exact, ≤ ℓ + 1 for FD). */
  public int size() {
    return eigenvalues.length;
  }

  /** Variance the sketch dropped: total − captured (0 for exact). */
  public double droppedVariance() {
    return Math.max(0.0, totalVariance - capturedVariance);
  }

  static double divisor(long n) {
    return n > 1 ? n - 1.0 : 1.0;
  }

  private static Spectrum ofExact(ExactSnapshot s) {
    int d = s.dimension();
    if (d > MAX_EXACT_DIMENSION) {
      throw new IllegalArgumentException(
          "spectrum: exact d " + d + " exceeds limit " + MAX_EXACT_DIMENSION);
    }
    double scale = 1.0 / divisor(s.count());
    double[] c = s.comoment();
    double trace = 0;
    for (int i = 0; i < d; i++) {
      trace += c[i * d + i];
    }
    DMatrixRMaj m = DMatrixRMaj.wrap(d, d, c);
    CommonOps_DDRM.scale(scale, m);
    double[] eig = symmetricEigenvalues(m);
    double total = Math.max(0.0, trace * scale);
    return new Spectrum(eig, s.count(), d, Kind.EXACT, total, total, 0.0);
  }

  /**
   * {@code C = BᵀB − nμμᵀ = Xᵀ S X} with {@code X = [B; √n μ]} ((m = ℓ'+1) × d) and {@code S =
   * diag(1, …, 1, −1)}. With the eigen decomposition {@code X Xᵀ = W G Wᵀ} (an m × m Gram matrix),
   * {@code X = W G^{1/2} Qᵀ} for orthonormal Q, so the non-zero eigenvalues of C are those of the m
   * × m matrix {@code G^{1/2} Wᵀ S W G^{1/2} = G − 2 (G^{1/2} w)(G^{1/2} w)ᵀ}, w being W's last
   * row. No d × d matrix is ever formed; the work is one m × m × d product and two m × m
   * eigenproblems.
   */
  private static Spectrum ofFd(FdSnapshot s) {
    int d = s.dimension();
    long n = s.count();
    int r = s.rowCount();
    int m = r + 1;
    double[] b = s.rows();
    double[] mu = s.mean();
    double scale = 1.0 / divisor(n);

    double[] x = Arrays.copyOf(b, m * d);
    double sqrtN = Math.sqrt((double) n);
    double muNorm2 = 0;
    for (int j = 0; j < d; j++) {
      x[r * d + j] = sqrtN * mu[j];
      muNorm2 += mu[j] * mu[j];
    }
    double bNorm2 = 0;
    for (int i = 0; i < r * d; i++) {
      bNorm2 += b[i] * b[i];
    }
    DMatrixRMaj xm = DMatrixRMaj.wrap(m, d, x);
    DMatrixRMaj gram = new DMatrixRMaj(m, m);
    CommonOps_DDRM.multTransB(xm, xm, gram);

    EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(m, true, true);
    if (!eig.decompose(gram)) {
      throw new IllegalStateException("spectrum: Gram eigendecomposition did not converge");
    }
    double[] sqrtG = new double[m];
    double[] v = new double[m];
    for (int k = 0; k < m; k++) {
      double g = Math.max(0.0, eig.getEigenvalue(k).real);
      sqrtG[k] = Math.sqrt(g);
      v[k] = sqrtG[k] * eig.getEigenVector(k).get(m - 1, 0);
    }
    DMatrixRMaj h = new DMatrixRMaj(m, m);
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < m; j++) {
        double val = -2.0 * v[i] * v[j];
        if (i == j) {
          val += sqrtG[i] * sqrtG[i];
        }
        h.unsafe_set(i, j, val * scale);
      }
    }
    double[] lambda = symmetricEigenvalues(h);
    int keep = Math.min(lambda.length, d);
    lambda = Arrays.copyOf(lambda, keep);

    double total = Math.max(0.0, (s.sumOfSquares() - n * muNorm2) * scale);
    double captured = Math.max(0.0, Math.min(total, (bNorm2 - n * muNorm2) * scale));
    return new Spectrum(
        lambda, n, d, Kind.FREQUENT_DIRECTIONS, total, captured, s.shrinkage() * scale);
  }

  /** Eigenvalues of a symmetric matrix, descending, negatives (rounding) clamped to 0. */
  private static double[] symmetricEigenvalues(DMatrixRMaj a) {
    int n = a.numRows;
    EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(n, false, true);
    if (!eig.decompose(a)) {
      throw new IllegalStateException("spectrum: symmetric eigendecomposition did not converge");
    }
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] = Math.max(0.0, eig.getEigenvalue(i).real);
    }
    Arrays.sort(out);
    reverse(out);
    return out;
  }

  private static void reverse(double[] a) {
    for (int i = 0, j = a.length - 1; i < j; i++, j--) {
      double t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Spectrum s
        && count == s.count
        && dimension == s.dimension
        && kind == s.kind
        && Double.compare(totalVariance, s.totalVariance) == 0
        && Double.compare(capturedVariance, s.capturedVariance) == 0
        && Double.compare(shrinkage, s.shrinkage) == 0
        && Arrays.equals(eigenvalues, s.eigenvalues);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * Long.hashCode(count) + dimension) + Arrays.hashCode(eigenvalues);
  }

  @Override
  public String toString() {
    return "Spectrum["
        + kind
        + ", n="
        + count
        + ", d="
        + dimension
        + ", size="
        + eigenvalues.length
        + ", total="
        + totalVariance
        + "]";
  }
}
