package io.phasewatch.collector.spectrum;

import io.phasewatch.core.sketch.CovarianceSnapshot;
import io.phasewatch.core.sketch.ExactSnapshot;
import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.core.sketch.FdSnapshot;
import io.phasewatch.core.sketch.Float32MomentSnapshot;
import io.phasewatch.core.sketch.RowSampleSnapshot;
import io.phasewatch.core.sketch.SymmetricEigen;
import java.util.Arrays;

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
 * @param eigenvalues descending, all ≥ 0; for FD at most ℓ + 1 of them, for a row sample at most
 *     min(n, d) (the rest are 0)
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
    EXACT("exact"),
    /** The exact co-moment of every row, its matrix kept in float32 ({@code Float32Moment}). */
    EXACT32("exact32"),
    FREQUENT_DIRECTIONS("fd"),
    /** The window's sampled rows themselves: exact on those rows. */
    SAMPLE("sample"),
    /** Eigenvalues handed in directly (tests, other tools). */
    GIVEN("exact");

    private final String label;

    Kind(String label) {
      this.label = label;
    }

    /** The summary's name in the API, {@code analyze} and the spectrum-time metric. */
    public String label() {
      return label;
    }

    /** The kind of summary a snapshot is. */
    public static Kind of(CovarianceSnapshot snapshot) {
      if (snapshot instanceof Float32MomentSnapshot) {
        return EXACT32;
      }
      if (snapshot instanceof RowSampleSnapshot) {
        return SAMPLE;
      }
      return snapshot instanceof FdSnapshot ? FREQUENT_DIRECTIONS : EXACT;
    }
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

  /**
   * The spectrum of a snapshot: exact (a d × d symmetric eigenproblem) or FD (a small ℓ+1 problem);
   * the dense work runs in {@link Lapack} where its native library loaded, else in {@link
   * SymmetricEigen}.
   */
  public static Spectrum of(CovarianceSnapshot snapshot) {
    if (snapshot instanceof ExactSnapshot e) {
      return ofExact(e);
    }
    if (snapshot instanceof Float32MomentSnapshot f) {
      return ofExact(f.widened()).summarisedAs(Kind.EXACT32); // the same d × d problem, in double
    }
    if (snapshot instanceof RowSampleSnapshot r) {
      return ofSample(r, Lapack.available());
    }
    return ofFd((FdSnapshot) snapshot);
  }

  /**
   * The same spectrum, named after the summary the agents kept ({@link Kind#of} a part): co-moments
   * merge in double (an {@link ExactSnapshot}), so a merged window of float32 co-moments says
   * {@link Kind#EXACT32} only if its parts tell it.
   */
  public Spectrum summarisedAs(Kind summary) {
    return new Spectrum(
        eigenvalues, count, dimension, summary, totalVariance, capturedVariance, shrinkage);
  }

  /** Which eigensolver this process uses: native LAPACK, or the pure-Java fallback. */
  public static String solver() {
    return Lapack.describe();
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
    double[] eig =
        Lapack.available() ? Lapack.symmetricEigenvalues(c, d) : SymmetricEigen.values(c, d);
    for (int i = 0; i < d; i++) {
      eig[i] = Math.max(0.0, eig[i] * scale);
    }
    double total = Math.max(0.0, trace * scale);
    return new Spectrum(eig, s.count(), d, Kind.EXACT, total, total, 0.0);
  }

  /**
   * The covariance of the sampled rows themselves: centred in double ({@code X_c = X − 1μᵀ}), then
   * the eigenvalues of {@code X_cᵀX_c/(n − 1)} through the smaller of the two Gram matrices ({@link
   * Lapack#gramEigenvalues}). Without the native library: the pure-Java Gram route for {@code n ≤
   * d} ({@link SymmetricEigen#valuesOfWeightedGram}), the exact co-moment otherwise.
   */
  static Spectrum ofSample(RowSampleSnapshot s, boolean nativeSolver) {
    int d = s.dimension();
    int n = (int) s.count();
    if (n == 0) {
      return new Spectrum(new double[1], 0, d, Kind.SAMPLE, 0.0, 0.0, 0.0);
    }
    float[] rows = s.rows();
    double[] mu = s.mean();
    double[] xc = new double[n * d];
    double trace = 0;
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < d; k++) {
        double v = rows[i * d + k] - mu[k];
        xc[i * d + k] = v;
        trace += v * v;
      }
    }
    double scale = 1.0 / divisor(n);
    double[] eig;
    if (nativeSolver) {
      eig = Lapack.gramEigenvalues(xc, n, d);
    } else if (n <= d) {
      double[] w = new double[n];
      Arrays.fill(w, 1.0);
      eig = SymmetricEigen.valuesOfWeightedGram(xc, n, d, w);
    } else {
      ExactSummary e = ExactSummary.ofDimension(d);
      e.update(rows, n);
      eig = SymmetricEigen.values(e.snapshot().comoment(), d);
    }
    for (int i = 0; i < eig.length; i++) {
      eig[i] = Math.max(0.0, eig[i] * scale);
    }
    double total = trace * scale;
    return new Spectrum(eig, n, d, Kind.SAMPLE, total, total, 0.0);
  }

  /**
   * {@code C = BᵀB − nμμᵀ = Xᵀ W X} with {@code X = [B; μᵀ]} (m = rows + 1 by d) and {@code W =
   * diag(1, …, 1, −n)/(n − 1)}. First the mean direction is gathered into one sketch row, and that
   * row and the mean are replaced by two rows of the covariance's own scale with weights ±1/(n−1)
   * ({@link #concentrateMeanDirection}, {@link #foldMeanIntoFirstRow}; exact algebra, one scalar
   * cancellation). Then the non-zero eigenvalues come from an m × m problem, so no d × d matrix is
   * formed: {@link Lapack#weightedGramEigenvalues} (a thin QR of Xᵀ) or, without the native
   * library, {@link SymmetricEigen#valuesOfWeightedGram} (the Gram matrix and its pivoted Cholesky
   * factor, the same R up to signs). Rounding: about {@code ε·‖μ‖²} from the scalar cancellation
   * (the price of sketching uncentred rows) plus {@code ε·λ₁} from the QR, or {@code m·ε·λ₁} from
   * the Gram route.
   */
  private static Spectrum ofFd(FdSnapshot s) {
    int d = s.dimension();
    long n = s.count();
    int r = s.rowCount();
    double[] b = s.rows();
    double[] mu = s.mean();
    double scale = 1.0 / divisor(n);

    double muNorm2 = 0;
    for (int j = 0; j < d; j++) {
      muNorm2 += mu[j] * mu[j];
    }
    double bNorm2 = 0;
    for (double v : b) {
      bNorm2 += v * v;
    }
    double[] x = Arrays.copyOf(b, (r + 1) * d);
    double[] w = new double[r + 1];
    Arrays.fill(w, scale);
    double muNorm = Math.sqrt(muNorm2);
    if (r == 0 || !(muNorm > 0)) {
      System.arraycopy(mu, 0, x, r * d, d);
      w[r] = -n * scale;
    } else {
      concentrateMeanDirection(x, r, d, mu, muNorm);
      foldMeanIntoFirstRow(x, r, d, mu, muNorm, n, w, scale);
    }
    double[] lambda =
        Lapack.available()
            ? Lapack.weightedGramEigenvalues(x, r + 1, d, w)
            : SymmetricEigen.valuesOfWeightedGram(x, r + 1, d, w);
    for (int i = 0; i < lambda.length; i++) {
      lambda[i] = Math.max(0.0, lambda[i]);
    }

    double total = Math.max(0.0, (s.sumOfSquares() - n * muNorm2) * scale);
    double captured = Math.max(0.0, Math.min(total, (bNorm2 - n * muNorm2) * scale));
    return new Spectrum(
        lambda, n, d, Kind.FREQUENT_DIRECTIONS, total, captured, s.shrinkage() * scale);
  }

  /**
   * Replaces the r sketch rows at the start of {@code x} by {@code Q B} (Q an r × r Householder
   * reflector, so {@code BᵀB} is unchanged) such that only the first row keeps a component along
   * {@code μ̂ = μ/‖μ‖}. Uncentred rows share a large component along the mean; concentrated in one
   * row, the cancellation against {@code −nμμᵀ} is confined to a 2 × 2 block ({@link
   * #foldMeanIntoFirstRow}) and costs about {@code ε·‖μ‖²}, as with a QR of X.
   */
  private static void concentrateMeanDirection(double[] x, int r, int d, double[] mu, double norm) {
    if (r < 2) {
      return;
    }
    double[] a = new double[r];
    for (int i = 0; i < r; i++) {
      double s = 0;
      for (int j = 0; j < d; j++) {
        s += x[i * d + j] * mu[j];
      }
      a[i] = s / norm;
    }
    // dlarfg on a: (I − τ v vᵀ) a = β e₁, v₀ = 1.
    double sigma = 0;
    for (int i = 1; i < r; i++) {
      sigma += a[i] * a[i];
    }
    if (sigma == 0) {
      return;
    }
    double beta = -Math.copySign(Math.sqrt(a[0] * a[0] + sigma), a[0]);
    double tau = (beta - a[0]) / beta;
    double[] v = new double[r];
    v[0] = 1.0;
    for (int i = 1; i < r; i++) {
      v[i] = a[i] / (a[0] - beta);
    }
    double[] t = new double[d]; // vᵀB
    for (int i = 0; i < r; i++) {
      double vi = v[i];
      for (int j = 0; j < d; j++) {
        t[j] += vi * x[i * d + j];
      }
    }
    for (int i = 0; i < r; i++) {
      double f = tau * v[i];
      for (int j = 0; j < d; j++) {
        x[i * d + j] -= f * t[j];
      }
    }
  }

  /**
   * With all of the mean direction {@code û} in the first row {@code b₀ = β û + p} ({@code p ⊥ û}),
   * {@code b₀b₀ᵀ − n μμᵀ} lives in the plane of {@code û} and {@code p̂}, where it is the 2 × 2
   * matrix {@code M = [[β² − nμ², β‖p‖], [β‖p‖, ‖p‖²]]}. Its eigenpairs {@code (m_k, q_k)} give two
   * rows {@code y_k = √|m_k| (q_k0 û + q_k1 p̂)} with weights {@code sign(m_k)/(n − 1)} that
   * replace {@code b₀} (row 0) and the mean (row r) exactly. The one cancellation, {@code β² −
   * nμ²}, is done once in scalars ({@code (β − √n‖μ‖)(β + √n‖μ‖)}); the rows handed to the Gram
   * matrix then all have the covariance's scale. (Left as {@code [b₀; μ]} with weight {@code
   * −n/(n−1)}, the mean row is nearly in the span of the sketch and its tiny Cholesky pivot,
   * amplified by the weight, cost up to 3·10⁻⁵·λ₁ on a d = 1024, n = 6000 sketch.)
   */
  private static void foldMeanIntoFirstRow(
      double[] x, int r, int d, double[] mu, double muNorm, long n, double[] w, double scale) {
    double beta = 0;
    for (int j = 0; j < d; j++) {
      beta += x[j] * mu[j];
    }
    beta /= muNorm;
    double[] p = new double[d];
    double pNorm2 = 0;
    for (int j = 0; j < d; j++) {
      p[j] = x[j] - beta * (mu[j] / muNorm);
      pNorm2 += p[j] * p[j];
    }
    double pNorm = Math.sqrt(pNorm2);
    double gamma = Math.sqrt((double) n) * muNorm;
    double a = (beta - gamma) * (beta + gamma);
    double c = beta * pNorm;
    double e = pNorm2;
    // Jacobi rotation of the symmetric 2 × 2 (Golub & Van Loan Alg. 8.5.1): eigenvalues
    // a − t·c and e + t·c with eigenvectors (cs, −sn) and (sn, cs).
    double cs = 1.0;
    double sn = 0.0;
    double t = 0.0;
    if (c != 0) {
      double tau = (e - a) / (2 * c);
      t = Math.copySign(1.0, tau) / (Math.abs(tau) + Math.hypot(1.0, tau));
      cs = 1.0 / Math.hypot(1.0, t);
      sn = t * cs;
    }
    double m0 = a - t * c;
    double m1 = e + t * c;
    double s0 = Math.sqrt(Math.abs(m0));
    double s1 = Math.sqrt(Math.abs(m1));
    double pInv = pNorm > 0 ? 1.0 / pNorm : 0.0;
    for (int j = 0; j < d; j++) {
      double u = mu[j] / muNorm;
      double q = p[j] * pInv;
      x[j] = s0 * (cs * u - sn * q);
      x[r * d + j] = s1 * (sn * u + cs * q);
    }
    w[0] = Math.signum(m0) * scale;
    w[r] = Math.signum(m1) * scale;
  }

  /** Reverses {@code a} in place (ascending eigenvalues to descending). */
  static void reverse(double[] a) {
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
