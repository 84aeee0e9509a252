package io.phasewatch.core.sketch;

import java.util.Arrays;

/**
 * The exact co-moment of every row of a window with its matrix stored as float32: count and mean in
 * double, the upper triangle of {@code M = Σ (x − μ)(x − μ)ᵀ} packed row by row ({@code (0,0),
 * (0,1) … (0,d−1), (1,1) …}, {@code d(d+1)/2} values), as {@link Float32Moment} accumulates it and
 * wire kind 4 carries it. Everything downstream of the agent works in double: {@link #widened()} is
 * the same summary as an {@link ExactSnapshot}, which is what the merge and the spectrum use.
 */
public record Float32MomentSnapshot(long count, double[] mean, float[] upper, long nonFiniteRows)
    implements CovarianceSnapshot {

  public Float32MomentSnapshot {
    if (count < 0 || nonFiniteRows < 0) {
      throw new IllegalArgumentException(
          "float32 co-moment: negative count " + count + " or nonFiniteRows " + nonFiniteRows);
    }
    if (mean == null || mean.length == 0) {
      throw new IllegalArgumentException("float32 co-moment: mean must have dimension ≥ 1");
    }
    long expected = (long) mean.length * (mean.length + 1) / 2;
    if (upper == null || upper.length != expected) {
      throw new IllegalArgumentException(
          "float32 co-moment: upper triangle must hold d(d+1)/2 = "
              + expected
              + " values, got "
              + (upper == null ? "null" : upper.length));
    }
    for (double v : mean) {
      if (!Double.isFinite(v)) {
        throw new IllegalArgumentException("float32 co-moment: mean holds " + v);
      }
    }
    int d = mean.length;
    for (int i = 0, at = 0; i < d; i++) {
      for (int j = i; j < d; j++, at++) {
        if (!Float.isFinite(upper[at])) {
          throw new IllegalArgumentException(
              "float32 co-moment: entry (" + i + "," + j + ") holds " + upper[at]);
        }
      }
    }
    mean = mean.clone();
    upper = upper.clone();
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
  public float[] upper() {
    return upper.clone();
  }

  /** The same summary with its co-moment as a full symmetric d × d matrix of doubles. */
  public ExactSnapshot widened() {
    int d = mean.length;
    double[] m = new double[d * d];
    for (int i = 0, at = 0; i < d; i++) {
      for (int j = i; j < d; j++, at++) {
        m[i * d + j] = upper[at];
        m[j * d + i] = upper[at];
      }
    }
    return new ExactSnapshot(count, mean, m, nonFiniteRows);
  }

  /**
   * The exact summary of the rows behind {@code a} and this snapshot, in double: Chan, Golub and
   * LeVeque's {@code M = M_a + M_b + δδᵀ·n_a·n_b/n}, {@code δ = μ_b − μ_a}, read straight from the
   * packed triangle (no widened copy: at d = 2048 each saved copy is 32 MiB).
   */
  ExactSnapshot mergedWith(ExactSnapshot a) {
    int d = mean.length;
    if (a.dimension() != d) {
      throw new IllegalArgumentException(
          "exact merge: dimensions differ, d=" + a.dimension() + " vs d=" + d);
    }
    long n = a.count() + count;
    double[] ma = a.mean();
    double[] m = a.comoment();
    double[] mu = new double[d];
    double[] delta = new double[d];
    for (int k = 0; k < d; k++) {
      delta[k] = mean[k] - ma[k];
      mu[k] = n == 0 ? 0 : ma[k] + delta[k] * count / n;
    }
    double w = n == 0 ? 0 : (double) a.count() * count / n;
    for (int i = 0, at = 0; i < d; i++) {
      double wi = w * delta[i];
      for (int j = i; j < d; j++, at++) {
        double v = m[i * d + j] + upper[at] + wi * delta[j];
        m[i * d + j] = v;
        m[j * d + i] = v;
      }
    }
    return new ExactSnapshot(n, mu, m, a.nonFiniteRows() + nonFiniteRows);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Float32MomentSnapshot s
        && count == s.count
        && nonFiniteRows == s.nonFiniteRows
        && Arrays.equals(mean, s.mean)
        && Arrays.equals(upper, s.upper);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * Long.hashCode(count) + Arrays.hashCode(mean)) + Arrays.hashCode(upper);
  }

  @Override
  public String toString() {
    return "Float32MomentSnapshot[n="
        + count
        + ", d="
        + mean.length
        + ", nonFinite="
        + nonFiniteRows
        + "]";
  }
}
