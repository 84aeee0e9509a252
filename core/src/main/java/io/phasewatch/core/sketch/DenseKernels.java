package io.phasewatch.core.sketch;

/**
 * The one dense product both sketches spend their time in: {@code C += A·B} on row-major double
 * arrays, cache-blocked and written so that HotSpot's superword pass vectorises the inner loop.
 *
 * <p>Why hand-written: EJML's {@code CommonOps_DDRM.mult} streams the whole right operand once per
 * row of the left one, which leaves these shapes ({@code 512 × 4096 · 4096 × 512}, {@code 4096 ×
 * 256 · 256 × 4096}) memory-bound. Here the right operand is cut into {@code KB × JB} panels that
 * stay in L2 while every row of {@code A} passes over them, and the inner loop is an axpy over four
 * rows of the panel at once (one load and one store of {@code C} per four multiply-adds). The left
 * operand is read through row and column strides, so a transposed operand needs no copy.
 */
final class DenseKernels {

  /** Rows of the right operand per panel: 128 × 256 doubles = 256 KiB, a share of L2. */
  static final int KB = 128;

  /** Columns per panel: one row segment of C (2 KiB) stays in L1. */
  static final int JB = 256;

  private DenseKernels() {}

  /**
   * {@code C[i][j] += Σ_k A(i,k)·B[k][j]} for {@code i < m}, {@code k < p}, and {@code j < n} (or
   * only {@code i ≤ j < n} when {@code upperOnly}, for symmetric results whose lower triangle is
   * filled by the caller). {@code A(i,k) = a[aOff + i·ars + k·acs]}; {@code B} and {@code C} are
   * row-major with leading dimensions {@code ldb}, {@code ldc}.
   */
  static void multAdd(
      double[] a,
      int aOff,
      int ars,
      int acs,
      double[] b,
      int bOff,
      int ldb,
      double[] c,
      int cOff,
      int ldc,
      int m,
      int n,
      int p,
      boolean upperOnly) {
    for (int kk = 0; kk < p; kk += KB) {
      int kEnd = Math.min(p, kk + KB);
      for (int jj = 0; jj < n; jj += JB) {
        int jEnd = Math.min(n, jj + JB);
        int iEnd = upperOnly ? Math.min(m, jEnd) : m;
        for (int i = 0; i < iEnd; i++) {
          int jStart = upperOnly ? Math.max(jj, i) : jj;
          int cRow = cOff + i * ldc;
          int aRow = aOff + i * ars;
          int k = kk;
          for (; k + 4 <= kEnd; k += 4) {
            double a0 = a[aRow + k * acs];
            double a1 = a[aRow + (k + 1) * acs];
            double a2 = a[aRow + (k + 2) * acs];
            double a3 = a[aRow + (k + 3) * acs];
            int b0 = bOff + k * ldb;
            int b1 = b0 + ldb;
            int b2 = b1 + ldb;
            int b3 = b2 + ldb;
            for (int j = jStart; j < jEnd; j++) {
              c[cRow + j] += a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
            }
          }
          for (; k < kEnd; k++) {
            double a0 = a[aRow + k * acs];
            int b0 = bOff + k * ldb;
            for (int j = jStart; j < jEnd; j++) {
              c[cRow + j] += a0 * b[b0 + j];
            }
          }
        }
      }
    }
  }

  /** Copies the upper triangle of a square row-major {@code n × n} matrix onto its lower one. */
  static void mirrorUpper(double[] c, int n) {
    for (int i = 0; i < n; i++) {
      for (int j = i + 1; j < n; j++) {
        c[j * n + i] = c[i * n + j];
      }
    }
  }

  /** Whether all {@code d} values from {@code off} are finite. */
  static boolean finite(double[] x, int off, int d) {
    for (int k = 0; k < d; k++) {
      if (!Double.isFinite(x[off + k])) {
        return false;
      }
    }
    return true;
  }

  static boolean finite(float[] x, int off, int d) {
    for (int k = 0; k < d; k++) {
      if (!Float.isFinite(x[off + k])) {
        return false;
      }
    }
    return true;
  }
}
