package io.phasewatch.collector.cli;

import io.phasewatch.agent.sketch.CovarianceSketch;
import io.phasewatch.agent.sketch.CovarianceSnapshot;
import io.phasewatch.agent.sketch.ExactSnapshot;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;

/**
 * Exact count, mean and centred co-moment of rows streamed in blocks: each block's own mean and
 * co-moment (one {@code CᵀC} product) merged with Chan et al.'s pairwise update, so a far-off mean
 * never cancels catastrophically.
 */
final class ExactAccumulator implements CovarianceSketch {

  private final int d;
  private long n;
  private long nonFinite;
  private final double[] mean;
  private final DMatrixRMaj comoment;

  ExactAccumulator(int d) {
    this.d = d;
    this.mean = new double[d];
    this.comoment = new DMatrixRMaj(d, d);
  }

  @Override
  public int dimension() {
    return d;
  }

  @Override
  public void update(float[] row) {
    update(row, 1);
  }

  @Override
  public void update(float[] rows, int rowCount) {
    double[] kept = new double[rowCount * d];
    int m = 0;
    for (int i = 0; i < rowCount; i++) {
      boolean finite = true;
      for (int j = 0; j < d && finite; j++) {
        finite = Float.isFinite(rows[i * d + j]);
      }
      if (!finite) {
        nonFinite++;
        continue;
      }
      for (int j = 0; j < d; j++) {
        kept[m * d + j] = rows[i * d + j];
      }
      m++;
    }
    if (m == 0) {
      return;
    }
    double[] bm = new double[d];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < d; j++) {
        bm[j] += kept[i * d + j];
      }
    }
    for (int j = 0; j < d; j++) {
      bm[j] /= m;
    }
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < d; j++) {
        kept[i * d + j] -= bm[j];
      }
    }
    DMatrixRMaj c = DMatrixRMaj.wrap(m, d, kept);
    DMatrixRMaj blockComoment = new DMatrixRMaj(d, d);
    CommonOps_DDRM.multInner(c, blockComoment);
    long total = n + m;
    double f = (double) n * m / total;
    double[] delta = new double[d];
    for (int j = 0; j < d; j++) {
      delta[j] = bm[j] - mean[j];
    }
    double[] out = comoment.data;
    double[] add = blockComoment.data;
    for (int i = 0; i < d; i++) {
      for (int j = 0; j < d; j++) {
        out[i * d + j] += add[i * d + j] + f * delta[i] * delta[j];
      }
    }
    for (int j = 0; j < d; j++) {
      mean[j] += delta[j] * m / total;
    }
    n = total;
  }

  @Override
  public CovarianceSnapshot snapshot() {
    return new ExactSnapshot(n, mean, comoment.data, nonFinite);
  }

  @Override
  public void reset() {
    n = 0;
    nonFinite = 0;
    java.util.Arrays.fill(mean, 0);
    comoment.zero();
  }
}
