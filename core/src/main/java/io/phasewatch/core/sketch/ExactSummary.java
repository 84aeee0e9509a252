package io.phasewatch.core.sketch;

import java.util.Arrays;

/**
 * Exact count, mean and centred co-moment {@code M = Σ (x − μ)(x − μ)ᵀ} of the rows, accumulated in
 * double. Batches are folded in with Chan, Golub and LeVeque's pairwise update (1979): a batch of
 * {@code b} rows with mean {@code μ_b} and co-moment {@code M_b} joins a summary {@code (n_a, μ_a,
 * M_a)} as {@code M = M_a + M_b + δδᵀ·n_a·b/n}, {@code δ = μ_b − μ_a}, so no cancellation of large
 * uncentred sums ever happens. {@code M_b} is one blocked product {@code X_cᵀX_c} of the centred
 * batch; only the upper triangle is computed and kept, and snapshots mirror it.
 *
 * <p>Single-threaded by design; the hot path allocates nothing after construction.
 */
public final class ExactSummary implements CovarianceSketch {

  /** d·d doubles are held; 8192 is 512 MiB, beyond which Frequent Directions is the tool. */
  public static final int MAX_DIMENSION = 8192;

  /** Rows folded per blocked product. */
  static final int BATCH_ROWS = 256;

  private final int d;
  private final double[] mean;
  private final double[] comoment; // upper triangle valid, row-major d × d
  private final double[] batch; // BATCH_ROWS × d staging, centred in place
  private final double[] batchMean;
  private long n;
  private long nonFiniteRows;

  private ExactSummary(int d) {
    this.d = d;
    this.mean = new double[d];
    this.comoment = new double[d * d];
    this.batch = new double[BATCH_ROWS * d];
    this.batchMean = new double[d];
  }

  /** An empty summary of rows of dimension {@code d} (1 ≤ d ≤ {@value #MAX_DIMENSION}). */
  public static ExactSummary ofDimension(int d) {
    if (d < 1 || d > MAX_DIMENSION) {
      throw new IllegalArgumentException(
          "exact summary: dimension d=" + d + " outside 1.." + MAX_DIMENSION);
    }
    return new ExactSummary(d);
  }

  @Override
  public int dimension() {
    return d;
  }

  /** Welford's one-row update, {@code M += δδᵀ·n/(n+1)}: O(d²) and memory-bound; batch instead. */
  @Override
  public void update(float[] row) {
    checkRow(row == null ? -1 : row.length, d, "exact summary");
    if (!DenseKernels.finite(row, 0, d)) {
      nonFiniteRows++;
      return;
    }
    long n1 = n + 1;
    double[] delta = batchMean; // reused as scratch: δ = x − μ_old
    for (int k = 0; k < d; k++) {
      delta[k] = row[k] - mean[k];
      mean[k] += delta[k] / n1;
    }
    double w = (double) n / n1;
    addOuterUpper(delta, w);
    n = n1;
  }

  @Override
  public void update(float[] rows, int rowCount) {
    checkBatch(rows == null ? -1 : rows.length, rowCount, d, "exact summary");
    fold(
        rowCount,
        (off, dst) -> {
          if (!DenseKernels.finite(rows, off, d)) {
            return false;
          }
          for (int k = 0; k < d; k++) {
            batch[dst + k] = rows[off + k];
          }
          return true;
        });
  }

  @Override
  public void update(double[] rows, int rowCount) {
    checkBatch(rows == null ? -1 : rows.length, rowCount, d, "exact summary");
    fold(
        rowCount,
        (off, dst) -> {
          if (!DenseKernels.finite(rows, off, d)) {
            return false;
          }
          System.arraycopy(rows, off, batch, dst, d);
          return true;
        });
  }

  /** Copies the row at {@code off} into the batch at {@code dst}; false when it is not finite. */
  private interface RowStager {
    boolean stage(int off, int dst);
  }

  private void fold(int rowCount, RowStager rows) {
    int r = 0;
    while (r < rowCount) {
      int b = 0;
      while (b < BATCH_ROWS && r < rowCount) {
        int off = r * d;
        r++;
        if (rows.stage(off, b * d)) {
          b++;
        } else {
          nonFiniteRows++;
        }
      }
      if (b > 0) {
        foldBatch(b);
      }
    }
  }

  private void foldBatch(int b) {
    Arrays.fill(batchMean, 0);
    for (int i = 0; i < b; i++) {
      int off = i * d;
      for (int k = 0; k < d; k++) {
        batchMean[k] += batch[off + k];
      }
    }
    for (int k = 0; k < d; k++) {
      batchMean[k] /= b;
    }
    for (int i = 0; i < b; i++) {
      int off = i * d;
      for (int k = 0; k < d; k++) {
        batch[off + k] -= batchMean[k];
      }
    }
    // M += X_cᵀ X_c: A(i,k) = X_c[k][i], read through strides without a transposed copy.
    DenseKernels.multAdd(batch, 0, 1, d, batch, 0, d, comoment, 0, d, d, d, b, true);
    long total = n + b;
    double w = (double) n * b / total;
    // δ = μ_b − μ_a, kept in batchMean; μ = μ_a + δ·b/n.
    for (int k = 0; k < d; k++) {
      double delta = batchMean[k] - mean[k];
      batchMean[k] = delta;
      mean[k] += delta * b / total;
    }
    if (n > 0) {
      addOuterUpper(batchMean, w);
    }
    n = total;
  }

  private void addOuterUpper(double[] v, double w) {
    for (int i = 0; i < d; i++) {
      double vi = v[i] * w;
      int row = i * d;
      for (int j = i; j < d; j++) {
        comoment[row + j] += vi * v[j];
      }
    }
  }

  @Override
  public ExactSnapshot snapshot() {
    double[] m = comoment.clone();
    DenseKernels.mirrorUpper(m, d);
    return new ExactSnapshot(n, mean, m, nonFiniteRows);
  }

  @Override
  public void reset() {
    n = 0;
    nonFiniteRows = 0;
    Arrays.fill(mean, 0);
    Arrays.fill(comoment, 0);
  }

  /**
   * The exact summary of the union of the rows behind {@code a} and {@code b} (Chan, Golub, LeVeque
   * 1979): {@code n = n_a + n_b}, {@code μ = μ_a + δ·n_b/n}, {@code M = M_a + M_b + δδᵀ·n_a·n_b/n}
   * with {@code δ = μ_b − μ_a}.
   */
  public static ExactSnapshot merge(ExactSnapshot a, ExactSnapshot b) {
    if (a.dimension() != b.dimension()) {
      throw new IllegalArgumentException(
          "exact merge: dimensions differ, d=" + a.dimension() + " vs d=" + b.dimension());
    }
    int d = a.dimension();
    long n = a.count() + b.count();
    double[] ma = a.mean();
    double[] mb = b.mean();
    double[] m = a.comoment();
    double[] mB = b.comoment();
    double[] mu = new double[d];
    double[] delta = new double[d];
    for (int k = 0; k < d; k++) {
      delta[k] = mb[k] - ma[k];
      mu[k] = n == 0 ? 0 : ma[k] + delta[k] * b.count() / n;
    }
    double w = n == 0 ? 0 : (double) a.count() * b.count() / n;
    for (int i = 0; i < d; i++) {
      for (int j = 0; j < d; j++) {
        m[i * d + j] += mB[i * d + j] + w * delta[i] * delta[j];
      }
    }
    return new ExactSnapshot(n, mu, m, a.nonFiniteRows() + b.nonFiniteRows());
  }

  /** {@code length} is the row's length, -1 for null. */
  static void checkRow(int length, int d, String what) {
    if (length != d) {
      throw new IllegalArgumentException(
          what + ": row must hold exactly d=" + d + " values, got " + Math.max(0, length));
    }
  }

  /** {@code length} is the rows array's length, -1 for null. */
  static void checkBatch(int length, int rowCount, int d, String what) {
    if (rowCount < 0) {
      throw new IllegalArgumentException(what + ": rowCount must be ≥ 0, got " + rowCount);
    }
    if (length < (long) rowCount * d) {
      throw new IllegalArgumentException(
          what
              + ": rows must hold rowCount·d = "
              + (long) rowCount * d
              + " values, got "
              + (length < 0 ? "null" : length));
    }
  }
}
