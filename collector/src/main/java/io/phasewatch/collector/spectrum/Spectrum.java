package io.phasewatch.collector.spectrum;

import io.phasewatch.agent.sketch.CovarianceSnapshot;
import io.phasewatch.agent.sketch.ExactSnapshot;
import io.phasewatch.agent.sketch.FdSnapshot;
import java.util.Arrays;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;
import org.ejml.interfaces.decomposition.QRDecomposition;

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
   * {@code C = BᵀB − nμμᵀ = Xᵀ S X} with {@code X = [B; √n μ]} (m = rows + 1 by d) and {@code S =
   * diag(1, …, 1, −1)}. With the thin QR {@code Xᵀ = Q R} (Householder, backward stable), {@code C
   * = Q (R S Rᵀ) Qᵀ}: the non-zero eigenvalues of C are those of the m × m matrix {@code R S Rᵀ = R
   * Rᵀ − 2 r rᵀ} (r = R's last column). No d × d matrix is ever formed. The eigenvalues carry an
   * absolute rounding error of about {@code ε·‖X‖²/(n−1)}, i.e. of order {@code ε·(‖μ‖² + tr C)}:
   * the price of sketching uncentred rows, visible only when the mean is ~10⁸ times the spread.
   */
  private static Spectrum ofFd(FdSnapshot s) {
    int d = s.dimension();
    long n = s.count();
    int r = s.rowCount();
    int m = r + 1;
    double[] b = s.rows();
    double[] mu = s.mean();
    double scale = 1.0 / divisor(n);

    double sqrtN = Math.sqrt((double) n);
    double muNorm2 = 0;
    for (int j = 0; j < d; j++) {
      muNorm2 += mu[j] * mu[j];
    }
    double bNorm2 = 0;
    for (double v : b) {
      bNorm2 += v * v;
    }
    // Xᵀ, d × m, column i = sketch row i, last column = √n μ.
    DMatrixRMaj xt = new DMatrixRMaj(d, m);
    for (int i = 0; i < r; i++) {
      for (int j = 0; j < d; j++) {
        xt.unsafe_set(j, i, b[i * d + j]);
      }
    }
    for (int j = 0; j < d; j++) {
      xt.unsafe_set(j, r, sqrtN * mu[j]);
    }
    int k = Math.min(d, m);
    QRDecomposition<DMatrixRMaj> qr = DecompositionFactory_DDRM.qr(d, m);
    if (!qr.decompose(xt)) {
      throw new IllegalStateException("spectrum: QR of the sketch did not succeed");
    }
    DMatrixRMaj rr = qr.getR(null, true); // k × m
    DMatrixRMaj h = new DMatrixRMaj(k, k);
    CommonOps_DDRM.multTransB(rr, rr, h);
    for (int i = 0; i < k; i++) {
      double ri = rr.unsafe_get(i, m - 1);
      for (int j = 0; j < k; j++) {
        h.unsafe_set(i, j, (h.unsafe_get(i, j) - 2.0 * ri * rr.unsafe_get(j, m - 1)) * scale);
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
