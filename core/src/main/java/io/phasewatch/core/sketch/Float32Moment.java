package io.phasewatch.core.sketch;

import java.util.Arrays;

/**
 * The exact co-moment {@code M = Σ (x − μ)(x − μ)ᵀ} of every row, held as the float32 upper
 * triangle ({@code 2·d(d+1)} bytes, 8 MiB at d = 2048) instead of {@link ExactSummary}'s d × d
 * doubles; count and mean stay in double. Only the storage of {@code M} is float32: each stored
 * entry is rounded once per folded batch, so after {@code T} batches its error is at most about
 * {@code T·2⁻²⁴·|M_ij|} (docs/spectrum.md has what that does to RankMe and α).
 *
 * <p>How a batch is folded, and why it stays accurate:
 *
 * <ul>
 *   <li>Rows are staged as {@code y = x − s} (computed in double, stored as float32), {@code s} the
 *       running mean when the batch began (the first row for the first batch). A large common
 *       offset therefore never enters a product: {@code y} is of the order of the spread.
 *   <li>The batch's products {@code P = Σ y yᵀ} are exact float products summed in double, one
 *       panel of columns at a time, so the only float32 rounding is the store into {@code M}.
 *   <li>With the batch's mean {@code m = ȳ} (double) the pairwise update of Chan, Golub and LeVeque
 *       (1979) around the shift reduces to {@code M += P − m mᵀ·b²/(n + b)}: one rank-one term
 *       added in double before the single rounding, and no cancellation, because {@code m} is the
 *       batch's distance from the running mean.
 * </ul>
 *
 * Rows are staged across calls and folded {@value #BATCH_ROWS} at a time (and by {@link
 * #snapshot()}), so the rounding count depends on the rows, not on how the trainer handed them
 * over. Single-threaded by design; the hot path allocates nothing after construction.
 */
public final class Float32Moment implements CovarianceSketch {

  /** Largest width accepted: the packed triangle must fit one Java array (134 MiB at 8192). */
  public static final int MAX_DIMENSION = 8192;

  /**
   * Largest magnitude of a value folded in; a row holding a larger one is left out and counted with
   * the non-finite rows. Squares of differences up to twice this, summed over billions of rows,
   * stay far inside float32's range (3.4·10³⁸), so the triangle never overflows; hidden states are
   * many orders of magnitude smaller.
   */
  public static final double MAX_ABS_VALUE = 1e14;

  /** Rows staged per fold: each entry of M is rounded once per this many rows. */
  static final int BATCH_ROWS = 128;

  /** Columns of the double panel the batch is multiplied in: 128 × 256 doubles = 256 KiB. */
  static final int PANEL_COLUMNS = 256;

  private final int d;
  private final float[] upper; // row i holds columns i..d-1, from rowStart(i)
  private final double[] mean;
  private final double[] shift;
  private final float[] staged; // BATCH_ROWS × d, x − shift
  private final double[] panel; // BATCH_ROWS × PANEL_COLUMNS, a column panel of staged
  private final double[] products; // PANEL_COLUMNS: one row segment of P
  private final double[] batchMean;
  private int stagedRows;
  private long n;
  private long nonFiniteRows;

  private Float32Moment(int d) {
    this.d = d;
    this.upper = new float[packedLength(d)];
    this.mean = new double[d];
    this.shift = new double[d];
    this.staged = new float[BATCH_ROWS * d];
    this.panel = new double[BATCH_ROWS * PANEL_COLUMNS];
    this.products = new double[PANEL_COLUMNS];
    this.batchMean = new double[d];
  }

  /** An empty summary of rows of dimension {@code d} (1 ≤ d ≤ {@value #MAX_DIMENSION}). */
  public static Float32Moment ofDimension(int d) {
    if (d < 1 || d > MAX_DIMENSION) {
      throw new IllegalArgumentException(
          "float32 co-moment: dimension d=" + d + " outside 1.." + MAX_DIMENSION);
    }
    return new Float32Moment(d);
  }

  /** Values in the packed upper triangle of a d × d matrix: {@code d(d+1)/2}. */
  static int packedLength(int d) {
    return (int) ((long) d * (d + 1) / 2);
  }

  /**
   * Heap bytes one summary of width {@code d} holds in its arrays: the triangle, the staging rows,
   * the panel and three d-vectors. What the 16 MiB per-layer budget is checked against.
   */
  public static long bytesHeld(int d) {
    return 4L * packedLength(d)
        + 4L * BATCH_ROWS * d
        + 8L * BATCH_ROWS * PANEL_COLUMNS
        + 8L * PANEL_COLUMNS
        + 3L * 8 * d;
  }

  @Override
  public int dimension() {
    return d;
  }

  @Override
  public void update(float[] row) {
    ExactSummary.checkRow(row == null ? -1 : row.length, d, "float32 co-moment");
    if (!inRange(row, 0)) {
      nonFiniteRows++;
      return;
    }
    stage(row, null, 0);
  }

  @Override
  public void update(float[] rows, int rowCount) {
    ExactSummary.checkBatch(rows == null ? -1 : rows.length, rowCount, d, "float32 co-moment");
    for (int r = 0; r < rowCount; r++) {
      if (inRange(rows, r * d)) {
        stage(rows, null, r * d);
      } else {
        nonFiniteRows++;
      }
    }
  }

  @Override
  public void update(double[] rows, int rowCount) {
    ExactSummary.checkBatch(rows == null ? -1 : rows.length, rowCount, d, "float32 co-moment");
    for (int r = 0; r < rowCount; r++) {
      if (inRange(rows, r * d)) {
        stage(null, rows, r * d);
      } else {
        nonFiniteRows++;
      }
    }
  }

  /**
   * Whether every value of the row at {@code off} is within ±{@link #MAX_ABS_VALUE} (NaN is not).
   */
  private boolean inRange(float[] x, int off) {
    for (int k = 0; k < d; k++) {
      if (!(Math.abs(x[off + k]) <= MAX_ABS_VALUE)) {
        return false;
      }
    }
    return true;
  }

  private boolean inRange(double[] x, int off) {
    for (int k = 0; k < d; k++) {
      if (!(Math.abs(x[off + k]) <= MAX_ABS_VALUE)) {
        return false;
      }
    }
    return true;
  }

  /** Stages the row at {@code off} of whichever of {@code f}, {@code x} is non-null. */
  private void stage(float[] f, double[] x, int off) {
    if (n == 0 && stagedRows == 0) {
      for (int k = 0; k < d; k++) {
        shift[k] = f != null ? f[off + k] : x[off + k];
      }
    }
    // The batch's sum is taken before the narrowing, so the mean stays exact in double.
    int dst = stagedRows * d;
    if (f != null) {
      for (int k = 0; k < d; k++) {
        double y = f[off + k] - shift[k];
        batchMean[k] += y;
        staged[dst + k] = (float) y;
      }
    } else {
      for (int k = 0; k < d; k++) {
        double y = x[off + k] - shift[k];
        batchMean[k] += y;
        staged[dst + k] = (float) y;
      }
    }
    if (++stagedRows == BATCH_ROWS) {
      fold();
    }
  }

  private void fold() {
    int b = stagedRows;
    if (b == 0) {
      return;
    }
    for (int k = 0; k < d; k++) {
      batchMean[k] /= b; // staging summed the rows into it
    }
    long total = n + b;
    // M += P − m mᵀ·b²/(n+b): the batch's own centring (−b·m mᵀ) and Chan's cross term
    // (+m mᵀ·n·b/(n+b), δ = m because the shift is the running mean) in one coefficient.
    double c = -(double) b * b / total;
    for (int jj = 0; jj < d; jj += PANEL_COLUMNS) {
      int jEnd = Math.min(d, jj + PANEL_COLUMNS);
      int w = jEnd - jj;
      for (int k = 0; k < b; k++) {
        int src = k * d + jj;
        int dst = k * PANEL_COLUMNS;
        for (int j = 0; j < w; j++) {
          panel[dst + j] = staged[src + j];
        }
      }
      for (int i = 0; i < jEnd; i++) {
        int j0 = Math.max(0, i - jj); // first column of the panel on or above the diagonal
        foldRowSegment(i, jj, j0, w, b, c);
      }
    }
    for (int k = 0; k < d; k++) {
      mean[k] = shift[k] + batchMean[k] * b / total;
      shift[k] = mean[k];
    }
    Arrays.fill(batchMean, 0);
    n = total;
    stagedRows = 0;
  }

  /** Row i of M, panel columns {@code jj + j0 .. jj + w}: {@code P_ij} in double, one rounding. */
  private void foldRowSegment(int i, int jj, int j0, int w, int b, double c) {
    Arrays.fill(products, j0, w, 0);
    int k = 0;
    for (; k + 4 <= b; k += 4) {
      double a0 = staged[k * d + i];
      double a1 = staged[(k + 1) * d + i];
      double a2 = staged[(k + 2) * d + i];
      double a3 = staged[(k + 3) * d + i];
      int p0 = k * PANEL_COLUMNS;
      int p1 = p0 + PANEL_COLUMNS;
      int p2 = p1 + PANEL_COLUMNS;
      int p3 = p2 + PANEL_COLUMNS;
      for (int j = j0; j < w; j++) {
        products[j] +=
            a0 * panel[p0 + j] + a1 * panel[p1 + j] + a2 * panel[p2 + j] + a3 * panel[p3 + j];
      }
    }
    for (; k < b; k++) {
      double a0 = staged[k * d + i];
      int p0 = k * PANEL_COLUMNS;
      for (int j = j0; j < w; j++) {
        products[j] += a0 * panel[p0 + j];
      }
    }
    double ci = c * batchMean[i];
    int at = rowStart(i) - i + jj; // upper[at + j] is (i, jj + j)
    for (int j = j0; j < w; j++) {
      upper[at + j] = (float) (upper[at + j] + products[j] + ci * batchMean[jj + j]);
    }
  }

  /** Where row i of the packed triangle starts: {@code Σ_{r<i} (d − r)}. */
  private int rowStart(int i) {
    return (int) ((long) i * d - (long) i * (i - 1) / 2);
  }

  /** Folds the staged rows first, so the snapshot describes every row handed over. */
  @Override
  public Float32MomentSnapshot snapshot() {
    fold();
    return new Float32MomentSnapshot(n, n == 0 ? new double[d] : mean, upper, nonFiniteRows);
  }

  @Override
  public void reset() {
    n = 0;
    nonFiniteRows = 0;
    stagedRows = 0;
    Arrays.fill(batchMean, 0);
    Arrays.fill(mean, 0);
    Arrays.fill(upper, 0);
  }
}
