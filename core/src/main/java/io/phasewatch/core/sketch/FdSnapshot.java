package io.phasewatch.core.sketch;

import java.util.Arrays;

/**
 * Frequent Directions snapshot of uncentred rows: at most {@code ell} sketch rows {@code B}
 * (row-major, {@code rowCount × d}) with {@code ‖AᵀA − BᵀB‖₂ ≤ shrinkage}, plus the exact count,
 * mean and total sum of squares {@code Σ‖a_i‖²}, so the collector can centre exactly ({@code C =
 * BᵀB − n μμᵀ}) and knows exactly how much variance the sketch dropped ({@code sumOfSquares −
 * ‖B‖²_F}).
 *
 * @param ell the sketch size ℓ the producer was configured with
 * @param shrinkage accumulated Δ = Σ δ_t subtracted from squared singular values; bounds the
 *     spectral error of {@code BᵀB}
 */
public record FdSnapshot(
    int ell,
    long count,
    double[] mean,
    double[] rows,
    double sumOfSquares,
    double shrinkage,
    long nonFiniteRows)
    implements CovarianceSnapshot {

  public FdSnapshot {
    if (ell < 1) {
      throw new IllegalArgumentException("fd snapshot: ell must be ≥ 1, got " + ell);
    }
    if (count < 0 || nonFiniteRows < 0) {
      throw new IllegalArgumentException(
          "fd snapshot: negative count " + count + " or nonFiniteRows " + nonFiniteRows);
    }
    if (mean == null || mean.length == 0) {
      throw new IllegalArgumentException("fd snapshot: mean must have dimension ≥ 1");
    }
    if (rows == null || rows.length % mean.length != 0 || rows.length / mean.length > ell) {
      throw new IllegalArgumentException(
          "fd snapshot: rows must be a (≤ ell="
              + ell
              + ") × d="
              + mean.length
              + " matrix, got "
              + (rows == null ? "null" : rows.length + " values"));
    }
    if (!(sumOfSquares >= 0) || !(shrinkage >= 0)) {
      throw new IllegalArgumentException(
          "fd snapshot: sumOfSquares "
              + sumOfSquares
              + " and shrinkage "
              + shrinkage
              + " must be finite and ≥ 0");
    }
    mean = mean.clone();
    rows = rows.clone();
  }

  @Override
  public int dimension() {
    return mean.length;
  }

  /** Number of sketch rows held (≤ ell). */
  public int rowCount() {
    return rows.length / mean.length;
  }

  @Override
  public double[] mean() {
    return mean.clone();
  }

  @Override
  public double[] rows() {
    return rows.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FdSnapshot s
        && ell == s.ell
        && count == s.count
        && nonFiniteRows == s.nonFiniteRows
        && Double.compare(sumOfSquares, s.sumOfSquares) == 0
        && Double.compare(shrinkage, s.shrinkage) == 0
        && Arrays.equals(mean, s.mean)
        && Arrays.equals(rows, s.rows);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * Long.hashCode(count) + Arrays.hashCode(mean)) + Arrays.hashCode(rows);
  }

  @Override
  public String toString() {
    return "FdSnapshot[ell="
        + ell
        + ", rows="
        + rowCount()
        + ", n="
        + count
        + ", d="
        + mean.length
        + ", shrinkage="
        + shrinkage
        + ", nonFinite="
        + nonFiniteRows
        + "]";
  }
}
