package io.phasewatch.collector.spectrum;

import static org.bytedeco.openblas.global.openblas.CblasColMajor;
import static org.bytedeco.openblas.global.openblas.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas.CblasTrans;
import static org.bytedeco.openblas.global.openblas.CblasUpper;
import static org.bytedeco.openblas.global.openblas.LAPACKE_dgeqrf;
import static org.bytedeco.openblas.global.openblas.LAPACKE_dsyevd;
import static org.bytedeco.openblas.global.openblas.LAPACK_COL_MAJOR;
import static org.bytedeco.openblas.global.openblas.LAPACK_ROW_MAJOR;
import static org.bytedeco.openblas.global.openblas.cblas_dgemm;
import static org.bytedeco.openblas.global.openblas.cblas_dsyrk;

import java.util.logging.Level;
import java.util.logging.Logger;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.openblas.global.openblas;
import org.bytedeco.openblas.presets.openblas_nolapack;

/**
 * The spectrum's dense work in LAPACK: OpenBLAS through JavaCPP, the same library numpy ships, with
 * its native part bundled for linux-x86_64. Blocked Householder reductions ({@code dsytrd} inside
 * {@code dsyevd}, {@code dgeqrf}) run several times faster than any level-2 Java loop, which is the
 * difference between a spectrum at numpy's speed and one five times slower (docs/benchmarks.md).
 * Where the native library cannot load (another platform, no writable cache directory) {@link
 * #available()} is false, the reason is logged once, and {@link Spectrum} uses the pure-Java
 * solver; both are tested against the same numpy fixtures.
 *
 * <p>OpenBLAS runs single-threaded here: the collector already computes layers in parallel on its
 * worker pool, and a second level of threads would only oversubscribe the cores.
 */
final class Lapack {

  private static final Logger LOG = Logger.getLogger(Lapack.class.getName());
  private static final boolean AVAILABLE = load();

  private Lapack() {}

  private static boolean load() {
    try {
      Loader.load(openblas.class);
      openblas_nolapack.blas_set_num_threads(1);
      return true;
    } catch (Throwable e) { // UnsatisfiedLinkError and friends: fall back, never fail the service
      LOG.log(
          Level.WARNING,
          "native LAPACK (OpenBLAS) not available, using the pure-Java eigensolver: {0}",
          String.valueOf(e));
      return false;
    }
  }

  /** Whether the native library loaded on this machine. */
  static boolean available() {
    return AVAILABLE;
  }

  /**
   * Eigenvalues of the symmetric row-major {@code n × n} matrix {@code a} (upper triangle read,
   * {@code a} not modified), descending: LAPACK {@code dsyevd} without vectors, as {@code
   * numpy.linalg.eigvalsh}.
   */
  static double[] symmetricEigenvalues(double[] a, int n) {
    double[] work = a.clone();
    double[] w = new double[n];
    // Row-major upper triangle = column-major lower triangle: no transposed copy inside LAPACKE.
    check(LAPACKE_dsyevd(LAPACK_COL_MAJOR, (byte) 'N', (byte) 'L', n, work, n, w), "dsyevd");
    Spectrum.reverse(w);
    return w;
  }

  /**
   * The {@code min(rows, cols)} eigenvalues of {@code Xᵀ W X} that can be non-zero ({@code X}: rows
   * × cols row-major, {@code W = diag(weights)}), descending, through a thin QR: {@code Xᵀ = QR}
   * ({@code dgeqrf}; {@code X} row-major is {@code Xᵀ} column-major, so nothing is transposed),
   * then the eigenvalues of the small {@code R W Rᵀ} ({@code dsyevd}). Absolute error about {@code
   * ε·‖X‖₂²·max|w|}: no Gram matrix is formed.
   */
  static double[] weightedGramEigenvalues(double[] x, int rows, int cols, double[] weights) {
    int k = Math.min(rows, cols);
    double[] qr = x.clone(); // column-major cols × rows: column l is row l of X
    double[] tau = new double[k];
    check(LAPACKE_dgeqrf(LAPACK_COL_MAJOR, cols, rows, qr, cols, tau), "dgeqrf");
    // R is k × rows, upper trapezoidal, in the top of qr (leading dimension cols).
    double[] r = new double[k * rows]; // column-major k × rows
    double[] rw = new double[k * rows];
    for (int l = 0; l < rows; l++) {
      for (int i = 0; i <= Math.min(l, k - 1); i++) {
        double v = qr[l * cols + i];
        r[l * k + i] = v;
        rw[l * k + i] = v * weights[l];
      }
    }
    double[] h = new double[k * k];
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, k, k, rows, 1.0, rw, k, r, k, 0.0, h, k);
    double[] w = new double[k];
    // H is symmetric up to rounding; dsyevd reads its upper triangle.
    check(LAPACKE_dsyevd(LAPACK_COL_MAJOR, (byte) 'N', (byte) 'U', k, h, k, w), "dsyevd");
    Spectrum.reverse(w);
    return w;
  }

  /**
   * The {@code min(n, d)} eigenvalues of {@code XᵀX} for the row-major {@code n × d} matrix {@code
   * x}, descending: {@code dsyrk} forms the smaller of the Gram matrix {@code XXᵀ} (n × n, when
   * {@code n ≤ d}) and {@code XᵀX} (d × d), both with the same non-zero eigenvalues, then {@code
   * dsyevd} without vectors. Cost {@code min(n, d)²·max(n, d)} multiply-adds plus the eigensolver
   * on the smaller side.
   */
  static double[] gramEigenvalues(double[] x, int n, int d) {
    int m = Math.min(n, d);
    double[] g = new double[m * m];
    if (n <= d) {
      cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, d, 1.0, x, d, 0.0, g, n);
    } else {
      cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, n, 1.0, x, d, 0.0, g, d);
    }
    double[] w = new double[m];
    // Row-major upper triangle = column-major lower triangle, as in symmetricEigenvalues.
    check(LAPACKE_dsyevd(LAPACK_COL_MAJOR, (byte) 'N', (byte) 'L', m, g, m, w), "dsyevd");
    Spectrum.reverse(w);
    return w;
  }

  /**
   * The Frequent Directions shrink of the {@code m × d} row-major rows {@code s} to at most {@code
   * ell} rows by {@code δ = λ_{ell+1}} (eigenvalues of {@code S Sᵀ}, descending, 1-based), as
   * {@code FrequentDirections} does it: Gram matrix ({@code dsyrk}), its eigenpairs ({@code
   * dsyevd}), then the surviving rows {@code sqrt(1 − δ/λ_i)·u_iᵀ S} ({@code dgemm}). Returns the
   * new rows (kept × d) and writes δ to {@code delta[0]}.
   */
  static double[] shrink(double[] s, int m, int d, int ell, double[] delta) {
    double[] g = new double[m * m];
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, m, d, 1.0, s, d, 0.0, g, m);
    double[] w = shrinkWeights(g, m, ell, delta);
    int kept = w.length / m;
    double[] out = new double[kept * d];
    if (kept > 0) {
      cblas_dgemm(
          CblasRowMajor, CblasNoTrans, CblasNoTrans, kept, d, m, 1.0, w, m, s, d, 0.0, out, d);
    }
    return out;
  }

  /**
   * {@link #shrink} of the rows {@code A} ({@code ka × d}) stacked over {@code B} ({@code kb × d}),
   * both row-major, without building the stack: the Gram matrix is assembled from its blocks {@code
   * AAᵀ}, {@code ABᵀ} ({@code dgemm}) and {@code BBᵀ} ({@code dsyrk}), and the surviving rows are
   * {@code W_A·A + W_B·B}. When {@code aOrthogonal} says that {@code A}'s rows came out of a
   * shrink, {@code AAᵀ} is diagonal — {@code diag(λᵢ − δ)}, since those rows are {@code sqrt(1 −
   * δ/λᵢ)·uᵢᵀS} for orthonormal {@code uᵢ} — and only its diagonal is computed (the row norms):
   * {@code ka·kb·d + kb²·d/2} multiply-adds for the Gram instead of {@code (ka + kb)²·d/2}. The
   * off-diagonal entries that are dropped are rounding errors of order {@code ε·λ₁}, the size of
   * the rounding in the full Gram matrix itself.
   */
  static double[] shrinkStacked(
      double[] a, int ka, boolean aOrthogonal, double[] b, int kb, int d, int ell, double[] delta) {
    int m = ka + kb;
    double[] g = new double[m * m];
    if (aOrthogonal) {
      for (int i = 0; i < ka; i++) {
        double sum = 0;
        for (int k = i * d, end = k + d; k < end; k++) {
          sum += a[k] * a[k];
        }
        g[i * m + i] = sum;
      }
    } else if (ka > 0) {
      double[] gaa = new double[ka * ka];
      cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, ka, d, 1.0, a, d, 0.0, gaa, ka);
      for (int i = 0; i < ka; i++) {
        System.arraycopy(gaa, i * ka + i, g, i * m + i, ka - i);
      }
    }
    if (ka > 0 && kb > 0) {
      double[] gab = new double[ka * kb];
      cblas_dgemm(
          CblasRowMajor, CblasNoTrans, CblasTrans, ka, kb, d, 1.0, a, d, b, d, 0.0, gab, kb);
      for (int i = 0; i < ka; i++) {
        System.arraycopy(gab, i * kb, g, i * m + ka, kb);
      }
    }
    if (kb > 0) {
      double[] gbb = new double[kb * kb];
      cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, kb, d, 1.0, b, d, 0.0, gbb, kb);
      for (int i = 0; i < kb; i++) {
        System.arraycopy(gbb, i * kb + i, g, (ka + i) * m + ka + i, kb - i);
      }
    }
    double[] w = shrinkWeights(g, m, ell, delta);
    int kept = w.length / m;
    double[] out = new double[kept * d];
    if (kept == 0) {
      return out;
    }
    double[] wa = new double[kept * ka];
    double[] wb = new double[kept * kb];
    for (int i = 0; i < kept; i++) {
      System.arraycopy(w, i * m, wa, i * ka, ka);
      System.arraycopy(w, i * m + ka, wb, i * kb, kb);
    }
    double beta = 0.0;
    if (ka > 0) {
      cblas_dgemm(
          CblasRowMajor, CblasNoTrans, CblasNoTrans, kept, d, ka, 1.0, wa, ka, a, d, 0.0, out, d);
      beta = 1.0;
    }
    if (kb > 0) {
      cblas_dgemm(
          CblasRowMajor, CblasNoTrans, CblasNoTrans, kept, d, kb, 1.0, wb, kb, b, d, beta, out, d);
    }
    return out;
  }

  /**
   * The shrink's weights from the Gram matrix {@code g} ({@code m × m} row-major, upper triangle
   * read, overwritten): row {@code i} is {@code sqrt(1 − δ/λᵢ)·uᵢᵀ} for the eigenpairs above {@code
   * δ = λ_{ell+1}}; returns them ({@code kept × m}) and writes δ to {@code delta[0]}.
   */
  private static double[] shrinkWeights(double[] g, int m, int ell, double[] delta) {
    double[] lambda = new double[m];
    // Row-major in, eigenvectors out as columns: g[r·m + i] is entry r of eigenvector i.
    check(LAPACKE_dsyevd(LAPACK_ROW_MAJOR, (byte) 'V', (byte) 'U', m, g, m, lambda), "dsyevd");
    // Ascending: the (ell+1)-th largest is at m − 1 − ell.
    double dl = ell < m ? Math.max(0.0, lambda[m - 1 - ell]) : 0.0;
    int kept = 0;
    while (kept < Math.min(m, ell) && Math.max(0.0, lambda[m - 1 - kept]) > dl) {
      kept++;
    }
    double[] w = new double[kept * m];
    for (int i = 0; i < kept; i++) {
      int col = m - 1 - i;
      double li = lambda[col];
      double scale = Math.sqrt((li - dl) / li);
      for (int r = 0; r < m; r++) {
        w[i * m + r] = g[r * m + col] * scale;
      }
    }
    delta[0] = dl;
    return w;
  }

  private static void check(int info, String routine) {
    if (info != 0) {
      throw new ArithmeticException("LAPACK " + routine + " failed: info=" + info);
    }
  }

  /** For the log line at startup: which solver the spectrum uses. */
  static String describe() {
    return AVAILABLE ? "LAPACK (" + openblas.OPENBLAS_VERSION.trim() + ")" : "pure Java";
  }
}
