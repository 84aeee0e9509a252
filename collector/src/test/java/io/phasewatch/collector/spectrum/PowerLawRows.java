package io.phasewatch.collector.spectrum;

import java.util.SplittableRandom;

/**
 * Test rows with a power-law population spectrum {@code λ_k = k^-a} around a mean offset, in a
 * basis that is not the coordinate axes: independent Gaussian coordinates scaled by {@code √λ_k},
 * plus a mean of norm about {@code 3√d}, then three fixed random Householder reflections (O(d) per
 * row each, where a dense rotation would cost O(d²)). Deterministic for a seed; rows are produced
 * block by block, so windows of any size stream without holding them all.
 */
public final class PowerLawRows {

  private final int d;
  private final double[] scale;
  private final double[] mean;
  private final double[][] reflections;
  private final SplittableRandom random;

  public PowerLawRows(int d, double a, long seed) {
    this.d = d;
    this.random = new SplittableRandom(seed);
    this.scale = new double[d];
    this.mean = new double[d];
    for (int k = 0; k < d; k++) {
      scale[k] = Math.pow(k + 1, -a / 2);
      mean[k] = 3.0 * random.nextGaussian();
    }
    this.reflections = new double[3][d];
    for (double[] v : reflections) {
      double norm = 0;
      for (int k = 0; k < d; k++) {
        v[k] = random.nextGaussian();
        norm += v[k] * v[k];
      }
      norm = Math.sqrt(norm);
      for (int k = 0; k < d; k++) {
        v[k] /= norm;
      }
    }
  }

  /** The next {@code n} rows, row-major {@code n × d}. */
  public float[] next(int n) {
    float[] out = new float[n * d];
    double[] x = new double[d];
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < d; k++) {
        x[k] = mean[k] + scale[k] * random.nextGaussian();
      }
      for (double[] v : reflections) {
        double dot = 0;
        for (int k = 0; k < d; k++) {
          dot += v[k] * x[k];
        }
        for (int k = 0; k < d; k++) {
          x[k] -= 2 * dot * v[k];
        }
      }
      for (int k = 0; k < d; k++) {
        out[i * d + k] = (float) x[k];
      }
    }
    return out;
  }
}
