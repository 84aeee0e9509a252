package io.phasewatch.core.sketch;

import java.util.Arrays;

/**
 * Eigenvalues (no vectors) of a dense symmetric matrix, and of a weighted Gram form {@code Xᵀ W X}
 * through its small side. Pure Java, written for HotSpot's superword pass.
 *
 * <p><b>Method.</b> Householder tridiagonalisation {@code Qᵀ A Q = T} (Golub &amp; Van Loan,
 * <i>Matrix Computations</i>, 4th ed., Alg. 8.3.1; LAPACK {@code dsytd2}), then the eigenvalues of
 * the tridiagonal {@code T} by the implicit QL algorithm with Wilkinson-type shifts (Golub &amp;
 * Van Loan §8.3.5; EISPACK {@code tql1}, the values-only sibling of LAPACK {@code dsterf}), {@code
 * O(n²)}. Both steps are backward stable: the computed eigenvalues are exact for {@code A + E} with
 * {@code ‖E‖₂ ≈ c·n·ε·‖A‖₂}, hence each has an absolute error of that size (Weyl).
 *
 * <p><b>Why not EJML.</b> Step {@code k} of the textbook reduction is a symmetric matrix–vector
 * product {@code p = τ A₂₂ v} followed by the rank-2 update {@code A₂₂ −= v wᵀ + w vᵀ}, each a full
 * pass over the trailing matrix; EJML does them as two unblocked passes with reductions in the
 * inner loop. Here the update of step {@code k} is fused with the product of step {@code k + 1}
 * into one pass over the upper triangle: the updated row {@code k + 1} is computed first, which
 * gives the next Householder vector {@code v'}; then each row {@code i} is updated ({@code A[i][j]
 * −= v_i w_j + w_i v_j}), added into the product as an axpy ({@code y[j] += A[i][j]·v'_i}, the
 * row's share of {@code A v'} by symmetry) and read once more, from L1, for the transposed half
 * {@code y[i] += Σ_{j>i} A[i][j] v'_j}. Only the upper triangle is touched, so each step streams
 * half the trailing matrix once instead of the full matrix twice. This is still a level-2 algorithm
 * (LAPACK's blocked {@code dsytrd} moves half the work into a matrix–matrix update), so it stays
 * behind an optimised BLAS; the benchmark in {@code docs/benchmarks.md} says by how much.
 *
 * <p>The input is scaled by its largest entry before the reduction (eigenvalues scale with it), so
 * squares in the Householder norms and QL rotations neither overflow nor lose range.
 */
public final class SymmetricEigen {

  private static final double EPS = Math.ulp(1.0);

  /** QL sweeps allowed per eigenvalue before giving up (EISPACK allows 30). */
  private static final int MAX_SWEEPS = 60;

  private SymmetricEigen() {}

  /**
   * The {@code n} eigenvalues of the symmetric {@code n × n} row-major matrix {@code a}, in
   * descending order. Only the upper triangle ({@code j ≥ i}) is read; {@code a} is not modified.
   *
   * @throws IllegalArgumentException if the sizes do not match or an entry is not finite
   */
  public static double[] values(double[] a, int n) {
    if (n < 1 || a == null || a.length != (long) n * n) {
      throw new IllegalArgumentException(
          "symmetric eigen: need an n × n array with n ≥ 1, got n="
              + n
              + ", length="
              + (a == null ? "null" : a.length));
    }
    return valuesInPlace(a.clone(), n);
  }

  /**
   * The eigenvalues of {@code Σ_i w_i x_i x_iᵀ = Xᵀ W X} ({@code X}: {@code rows × cols} row-major,
   * rows {@code x_i}; {@code W = diag(weights)}, any signs) that can be non-zero: {@code min(rows,
   * cols)} of them, descending, the ones past the rank of {@code X} reported as 0.
   *
   * <p>The {@code cols × cols} matrix is never formed. With the Gram matrix {@code G = X Xᵀ} (rows
   * × rows, PSD) and its pivoted Cholesky factor {@code Pᵀ G P = Rᵀ R} ({@code R}: rank × rows,
   * LAPACK {@code dpstrf}), the non-zero eigenvalues of {@code XᵀWX} are those of {@code W X Xᵀ = W
   * P Rᵀ R Pᵀ}, which shares its non-zero eigenvalues with the symmetric {@code R (PᵀWP) Rᵀ} (rank
   * × rank). The thin QR {@code Xᵀ = QR} gives the same {@code R}; forming {@code G} instead spends
   * the {@code O(rows²·cols)} work in a vectorised product but costs accuracy: absolute errors of
   * order {@code rows·ε·‖X‖₂²·max|w|} when the rows carry weights of one size, and more when a row
   * with a much larger weight than the others lies nearly in their span (its Cholesky pivot,
   * accurate only to {@code ε·‖x_i‖²}, is then amplified by the weight). Callers with such a row
   * should fold it into the others first, as the collector's FD spectrum does with the mean.
   *
   * @throws IllegalArgumentException if the sizes do not match or a value is not finite
   */
  public static double[] valuesOfWeightedGram(double[] x, int rows, int cols, double[] weights) {
    if (rows < 1
        || cols < 1
        || x == null
        || x.length != (long) rows * cols
        || weights == null
        || weights.length != rows) {
      throw new IllegalArgumentException(
          "weighted gram: need rows, cols ≥ 1, x of rows·cols and one weight per row, got rows="
              + rows
              + ", cols="
              + cols
              + ", x length="
              + (x == null ? "null" : x.length)
              + ", weights="
              + (weights == null ? "null" : weights.length));
    }
    for (int i = 0; i < rows; i++) {
      if (!Double.isFinite(weights[i])) {
        throw new IllegalArgumentException("weighted gram: weight " + i + " is " + weights[i]);
      }
    }
    int m = rows;
    double[] xt = transpose(x, rows, cols);
    double[] g = new double[m * m];
    // G = X Xᵀ, upper triangle: A(i,k) = X[i][k] read from Xᵀ through strides, B = Xᵀ.
    DenseKernels.multAdd(xt, 0, 1, m, xt, 0, m, g, 0, m, m, m, cols, true);
    DenseKernels.mirrorUpper(g, m);
    for (double v : g) {
      if (!Double.isFinite(v)) {
        throw new IllegalArgumentException("weighted gram: X has a non-finite entry");
      }
    }
    int[] perm = new int[m];
    // rank(G) ≤ min(rows, cols): pivots past that are rounding noise.
    int k = pivotedCholesky(g, m, Math.min(m, cols), perm);
    double[] out = new double[Math.min(rows, cols)];
    if (k > 0) {
      // H = R (PᵀWP) Rᵀ: A = R (k × m, rows of g), B[l][b] = w_perm(l) · R[b][l].
      double[] bt = new double[m * k];
      for (int b = 0; b < k; b++) {
        for (int l = b; l < m; l++) {
          bt[l * k + b] = weights[perm[l]] * g[b * m + l];
        }
      }
      for (int b = 0; b < k; b++) {
        Arrays.fill(g, b * m, b * m + b, 0.0); // R is upper trapezoidal
      }
      double[] h = new double[k * k];
      DenseKernels.multAdd(g, 0, m, 1, bt, 0, k, h, 0, k, k, k, m, true);
      double[] lam = valuesInPlace(h, k);
      System.arraycopy(lam, 0, out, 0, Math.min(k, out.length));
    }
    Arrays.sort(out);
    reverse(out);
    return out;
  }

  /**
   * Pivoted Cholesky of the PSD {@code m × m} matrix {@code g} (full storage, overwritten): row
   * {@code j < rank} of {@code g} becomes row {@code j} of {@code R} (entries left of the diagonal
   * are garbage), {@code perm[j]} the original index of pivot {@code j}. Stops when the largest
   * remaining diagonal entry is at most {@code m·ε·max G_ii} (LAPACK {@code dpstrf}'s default
   * tolerance): what is left is rounding noise of a semidefinite matrix; and after {@code maxRank}
   * pivots.
   */
  private static int pivotedCholesky(double[] g, int m, int maxRank, int[] perm) {
    for (int i = 0; i < m; i++) {
      perm[i] = i;
    }
    double maxDiag = 0;
    for (int i = 0; i < m; i++) {
      maxDiag = Math.max(maxDiag, g[i * m + i]);
    }
    double tol = m * EPS * maxDiag;
    for (int j = 0; j < maxRank; j++) {
      int p = j;
      for (int i = j + 1; i < m; i++) {
        if (g[i * m + i] > g[p * m + p]) {
          p = i;
        }
      }
      if (!(g[p * m + p] > tol)) {
        return j;
      }
      if (p != j) {
        swapRowsAndColumns(g, m, j, p);
        int t = perm[j];
        perm[j] = perm[p];
        perm[p] = t;
      }
      double rjj = Math.sqrt(g[j * m + j]);
      int rj = j * m;
      g[rj + j] = rjj;
      double inv = 1.0 / rjj;
      for (int l = j + 1; l < m; l++) {
        g[rj + l] *= inv;
      }
      // Trailing block, full (symmetric swaps need both triangles): G₂₂ −= r rᵀ.
      for (int i = j + 1; i < m; i++) {
        double f = g[rj + i];
        int ri = i * m;
        for (int l = j + 1; l < m; l++) {
          g[ri + l] -= f * g[rj + l];
        }
      }
    }
    return maxRank;
  }

  private static void swapRowsAndColumns(double[] g, int m, int a, int b) {
    for (int l = 0; l < m; l++) {
      double t = g[a * m + l];
      g[a * m + l] = g[b * m + l];
      g[b * m + l] = t;
    }
    for (int l = 0; l < m; l++) {
      double t = g[l * m + a];
      g[l * m + a] = g[l * m + b];
      g[l * m + b] = t;
    }
  }

  /** Eigenvalues of the upper triangle of {@code a}, which is overwritten; descending. */
  static double[] valuesInPlace(double[] a, int n) {
    double scale = 0;
    for (int i = 0; i < n; i++) {
      for (int j = i; j < n; j++) {
        double v = a[i * n + j];
        if (!Double.isFinite(v)) {
          throw new IllegalArgumentException(
              "symmetric eigen: entry (" + i + ", " + j + ") is " + v);
        }
        scale = Math.max(scale, Math.abs(v));
      }
    }
    double[] d = new double[n];
    if (scale == 0) {
      return d;
    }
    double inv = 1.0 / scale;
    for (int i = 0; i < n; i++) {
      for (int j = i; j < n; j++) {
        a[i * n + j] *= inv;
      }
    }
    double[] e = new double[n];
    tridiagonalise(a, n, d, e);
    if (Boolean.getBoolean("se.debug")) {
      System.out.println(Arrays.toString(d));
      System.out.println(Arrays.toString(e));
    }
    tridiagonalQl(d, e, n);
    for (int i = 0; i < n; i++) {
      d[i] *= scale;
    }
    Arrays.sort(d);
    reverse(d);
    return d;
  }

  /**
   * Householder reduction of the upper triangle of {@code a} to the tridiagonal {@code (d, e)},
   * {@code e[i]} coupling {@code i} and {@code i + 1}. Reflector {@code k} ({@code k ≤ n − 3})
   * zeroes row {@code k} past {@code k + 1}: {@code H = I − τ v vᵀ}, {@code v_{k+1} = 1}, then with
   * {@code p = τ A₂₂ v} and {@code w = p − (τ/2)(pᵀv) v}, {@code A₂₂ ← A₂₂ − v wᵀ − w vᵀ} (Golub
   * &amp; Van Loan Alg. 8.3.1). {@code y} holds {@code A₂₂ v} for the current step, computed in the
   * previous step's fused pass.
   */
  private static void tridiagonalise(double[] a, int n, double[] d, double[] e) {
    if (n == 1) {
      d[0] = a[0];
      return;
    }
    if (n == 2) {
      d[0] = a[0];
      d[1] = a[3];
      e[0] = a[1];
      return;
    }
    double[] v = new double[n];
    double[] vNext = new double[n];
    double[] w = new double[n];
    double[] y = new double[n];
    d[0] = a[0];
    double tau = householder(a, n, 0, v, e);
    // y = A₂₂ v for step 0: the fused pass with a zero update (w = 0, and v only enters the
    // update).
    double[] zero = new double[n];
    fusedPass(a, n, 1, zero, zero, v, y);
    for (int k = 0; k <= n - 3; k++) {
      int s = k + 1;
      double pv = 0;
      for (int j = s; j < n; j++) {
        pv += y[j] * v[j];
      }
      double half = 0.5 * tau * tau * pv;
      for (int j = s; j < n; j++) {
        w[j] = tau * y[j] - half * v[j];
      }
      // Row k + 1 first: it gives the next reflector before the fused pass needs it.
      int row = s * n;
      double vs = v[s];
      double ws = w[s];
      for (int j = s; j < n; j++) {
        a[row + j] -= vs * w[j] + ws * v[j];
      }
      d[s] = a[row + s];
      double tauNext = 0;
      Arrays.fill(vNext, 0.0);
      if (s <= n - 3) {
        tauNext = householder(a, n, s, vNext, e);
      } else {
        e[s] = a[row + s + 1];
      }
      fusedPass(a, n, s + 1, v, w, vNext, y);
      double[] t = v;
      v = vNext;
      vNext = t;
      tau = tauNext;
    }
    d[n - 1] = a[n * n - 1];
  }

  /**
   * Rows and columns {@code from…n−1} of the upper triangle: {@code A[i][j] −= v_i w_j + w_i v_j},
   * and {@code y = A_new u} on those indices (y is cleared there first).
   */
  private static void fusedPass(
      double[] a, int n, int from, double[] v, double[] w, double[] u, double[] y) {
    Arrays.fill(y, from, n, 0.0);
    for (int i = from; i < n; i++) {
      int row = i * n;
      double vi = v[i];
      double wi = w[i];
      double ui = u[i];
      // Three short loops over the row rather than one: C2 (JDK 17) vectorises a loop with one
      // array store but not one that stores into both a and y; the row stays in L1 between them.
      for (int j = i; j < n; j++) {
        a[row + j] -= vi * w[j] + wi * v[j];
      }
      for (int j = i; j < n; j++) {
        y[j] += a[row + j] * ui;
      }
      // The transposed half, Σ_{j>i} A[i][j] u_j, over the row just written (in L1).
      double s0 = 0;
      double s1 = 0;
      double s2 = 0;
      double s3 = 0;
      int j = i + 1;
      for (; j + 4 <= n; j += 4) {
        s0 += a[row + j] * u[j];
        s1 += a[row + j + 1] * u[j + 1];
        s2 += a[row + j + 2] * u[j + 2];
        s3 += a[row + j + 3] * u[j + 3];
      }
      for (; j < n; j++) {
        s0 += a[row + j] * u[j];
      }
      y[i] += (s0 + s1) + (s2 + s3);
    }
  }

  /**
   * The reflector of row {@code r} past the diagonal (LAPACK {@code dlarfg}): writes {@code v}
   * (with {@code v_{r+1} = 1}), {@code e[r] = β} and returns {@code τ}; {@code τ = 0} when the part
   * below {@code x_0} is already zero.
   */
  private static double householder(double[] a, int n, int r, double[] v, double[] e) {
    int base = r * n;
    double alpha = a[base + r + 1];
    double sigma = 0;
    for (int j = r + 2; j < n; j++) {
      sigma += a[base + j] * a[base + j];
    }
    v[r + 1] = 1.0;
    if (sigma == 0) {
      e[r] = alpha;
      return 0.0;
    }
    double beta = -Math.copySign(Math.sqrt(alpha * alpha + sigma), alpha);
    double scale = 1.0 / (alpha - beta);
    for (int j = r + 2; j < n; j++) {
      v[j] = a[base + j] * scale;
    }
    e[r] = beta;
    return (beta - alpha) / beta;
  }

  /**
   * Eigenvalues of the symmetric tridiagonal {@code (d, e)} in place in {@code d} (unsorted), by
   * implicit QL with the shift from the leading 2 × 2 block (EISPACK {@code tql1}; Golub &amp; Van
   * Loan §8.3.5). As in {@code tql1}, an off-diagonal {@code e[m]} is neglected once it is below ε
   * times the largest {@code |d_i| + |e_i|} seen so far: an absolute test, matching the absolute
   * accuracy of the reduction (a purely relative test can stall on clusters of rounding-level
   * eigenvalues, which rank-deficient covariances have).
   */
  private static void tridiagonalQl(double[] d, double[] e, int n) {
    e[n - 1] = 0.0;
    double norm = 0;
    for (int l = 0; l < n; l++) {
      int sweeps = 0;
      norm = Math.max(norm, Math.abs(d[l]) + Math.abs(e[l]));
      int m;
      do {
        for (m = l; m < n - 1; m++) {
          if (Math.abs(e[m]) <= EPS * norm) {
            break;
          }
        }
        if (m != l) {
          if (++sweeps > MAX_SWEEPS) {
            throw new IllegalStateException(
                "symmetric eigen: QL did not converge for eigenvalue " + l + " of " + n);
          }
          double g = (d[l + 1] - d[l]) / (2.0 * e[l]);
          double r = hypot(g, 1.0);
          g = d[m] - d[l] + e[l] / (g + Math.copySign(r, g));
          double s = 1.0;
          double c = 1.0;
          double p = 0.0;
          int i;
          boolean underflow = false;
          for (i = m - 1; i >= l; i--) {
            double f = s * e[i];
            double b = c * e[i];
            r = hypot(f, g);
            e[i + 1] = r;
            if (r == 0.0) {
              // Recover from underflow: the sweep split the matrix; restart from l.
              d[i + 1] -= p;
              e[m] = 0.0;
              underflow = true;
              break;
            }
            s = f / r;
            c = g / r;
            g = d[i + 1] - p;
            r = (d[i] - g) * s + 2.0 * c * b;
            p = s * r;
            d[i + 1] = g + p;
            g = c * r - b;
          }
          if (underflow) {
            continue;
          }
          d[l] -= p;
          e[l] = g;
          e[m] = 0.0;
        }
      } while (m != l);
    }
  }

  /** √(a² + b²): the plain formula on the scaled matrix, {@link Math#hypot} only at the edges. */
  private static double hypot(double a, double b) {
    double s = a * a + b * b;
    if (s > 1e-290 && s < 1e290) {
      return Math.sqrt(s);
    }
    return Math.hypot(a, b);
  }

  private static double[] transpose(double[] x, int rows, int cols) {
    double[] t = new double[rows * cols];
    final int bs = 32;
    for (int ii = 0; ii < rows; ii += bs) {
      int iEnd = Math.min(rows, ii + bs);
      for (int jj = 0; jj < cols; jj += bs) {
        int jEnd = Math.min(cols, jj + bs);
        for (int i = ii; i < iEnd; i++) {
          for (int j = jj; j < jEnd; j++) {
            t[j * rows + i] = x[i * cols + j];
          }
        }
      }
    }
    return t;
  }

  private static void reverse(double[] a) {
    for (int i = 0, j = a.length - 1; i < j; i++, j--) {
      double t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
}
