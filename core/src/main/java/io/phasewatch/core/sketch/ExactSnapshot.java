package io.phasewatch.core.sketch;

import java.util.Arrays;

/**
 * Exact summary: count, mean and the centred co-moment matrix {@code M = Σ (x - μ)(x - μ)ᵀ}, stored
 * as a full symmetric {@code d × d} row-major array. The sample covariance is {@code M / (n - 1)}.
 */
public record ExactSnapshot(long count, double[] mean, double[] comoment, long nonFiniteRows)
    implements CovarianceSnapshot {

  public ExactSnapshot {
    if (count < 0 || nonFiniteRows < 0) {
      throw new IllegalArgumentException(
          "exact snapshot: negative count " + count + " or nonFiniteRows " + nonFiniteRows);
    }
    if (mean == null || mean.length == 0) {
      throw new IllegalArgumentException("exact snapshot: mean must have dimension ≥ 1");
    }
    if (comoment == null || comoment.length != (long) mean.length * mean.length) {
      throw new IllegalArgumentException(
          "exact snapshot: comoment must hold d*d = "
              + (long) mean.length * mean.length
              + " values, got "
              + (comoment == null ? "null" : comoment.length));
    }
    mean = mean.clone();
    comoment = comoment.clone();
  }

  @Override
  public int dimension() {
    return mean.length;
  }

  @Override
  public double[] mean() {
    return mean.clone();
  }

  @Override
  public double[] comoment() {
    return comoment.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ExactSnapshot s
        && count == s.count
        && nonFiniteRows == s.nonFiniteRows
        && Arrays.equals(mean, s.mean)
        && Arrays.equals(comoment, s.comoment);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * Long.hashCode(count) + Arrays.hashCode(mean)) + Arrays.hashCode(comoment);
  }

  @Override
  public String toString() {
    return "ExactSnapshot[n=" + count + ", d=" + mean.length + ", nonFinite=" + nonFiniteRows + "]";
  }
}
