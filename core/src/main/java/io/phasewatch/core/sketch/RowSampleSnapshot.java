package io.phasewatch.core.sketch;

import java.util.Arrays;

/**
 * The rows themselves: a uniform sample (without replacement) of at most {@code capacity} of the
 * window's finite rows, as float32, exactly as the trainer handed them over. Every measure computed
 * from it is the study's computation on these rows, with no approximation; the merge of two samples
 * is their concatenation, so a window merged over ranks describes the union of the ranks' samples
 * (strata of equal size when every rank sees as many rows).
 *
 * @param capacity rows the producer keeps at most (for a merge: the sum of the parts' capacities)
 * @param dimension d
 * @param rows the sampled rows, row-major {@code count × d}
 * @param seenRows finite rows offered to the sampler, ≥ the rows kept; equal when nothing was left
 *     out
 * @param nonFiniteRows rows left out because they held NaN or ±Inf
 */
public record RowSampleSnapshot(
    int capacity, int dimension, float[] rows, long seenRows, long nonFiniteRows)
    implements CovarianceSnapshot {

  public RowSampleSnapshot {
    if (capacity < 1 || dimension < 1) {
      throw new IllegalArgumentException(
          "row sample: capacity " + capacity + " and d " + dimension + " must be ≥ 1");
    }
    if (rows == null || rows.length % dimension != 0 || rows.length / dimension > capacity) {
      throw new IllegalArgumentException(
          "row sample: rows must be a (≤ capacity="
              + capacity
              + ") × d="
              + dimension
              + " matrix, got "
              + (rows == null ? "null" : rows.length + " values"));
    }
    if (seenRows < rows.length / dimension || nonFiniteRows < 0) {
      throw new IllegalArgumentException(
          "row sample: seenRows "
              + seenRows
              + " below the "
              + rows.length / dimension
              + " rows held, or negative nonFiniteRows "
              + nonFiniteRows);
    }
    for (float v : rows) {
      if (!Float.isFinite(v)) {
        throw new IllegalArgumentException("row sample: a row holds the non-finite value " + v);
      }
    }
    rows = rows.clone();
  }

  /** The rows held: n of the window's description. */
  @Override
  public long count() {
    return rows.length / dimension;
  }

  @Override
  public float[] rows() {
    return rows.clone();
  }

  /** The mean of the sampled rows, in double. */
  @Override
  public double[] mean() {
    double[] mean = new double[dimension];
    int n = rows.length / dimension;
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < dimension; k++) {
        mean[k] += rows[i * dimension + k];
      }
    }
    for (int k = 0; k < dimension && n > 0; k++) {
      mean[k] /= n;
    }
    return mean;
  }

  /** The union of the rows behind {@code a} and {@code b}: their rows, one after the other. */
  static RowSampleSnapshot concat(RowSampleSnapshot a, RowSampleSnapshot b) {
    if (a.dimension != b.dimension) {
      throw new IllegalArgumentException(
          "merge: row samples of d=" + a.dimension + " and d=" + b.dimension);
    }
    float[] rows = Arrays.copyOf(a.rows, a.rows.length + b.rows.length);
    System.arraycopy(b.rows, 0, rows, a.rows.length, b.rows.length);
    return new RowSampleSnapshot(
        Math.addExact(a.capacity, b.capacity),
        a.dimension,
        rows,
        a.seenRows + b.seenRows,
        a.nonFiniteRows + b.nonFiniteRows);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RowSampleSnapshot s
        && capacity == s.capacity
        && dimension == s.dimension
        && seenRows == s.seenRows
        && nonFiniteRows == s.nonFiniteRows
        && Arrays.equals(rows, s.rows);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * capacity + dimension) + Arrays.hashCode(rows);
  }

  @Override
  public String toString() {
    return "RowSampleSnapshot[capacity="
        + capacity
        + ", n="
        + count()
        + ", d="
        + dimension
        + ", seen="
        + seenRows
        + ", nonFinite="
        + nonFiniteRows
        + "]";
  }
}
