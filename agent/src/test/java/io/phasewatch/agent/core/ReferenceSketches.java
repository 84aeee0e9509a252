package io.phasewatch.agent.core;

import io.phasewatch.core.sketch.CovarianceSketch;
import io.phasewatch.core.sketch.CovarianceSnapshot;
import io.phasewatch.core.sketch.ExactSnapshot;
import java.util.ArrayList;
import java.util.List;

/**
 * A test-only summary that keeps every row and computes count, mean and the centred co-moment by
 * the textbook two-pass formula. Slow and obviously right; the agent's tests use it to check the
 * windows the agent builds, independently of the production sketches.
 */
public class ReferenceSketches implements SketchFactory {

  @Override
  public CovarianceSketch exact(int dimension) {
    return new TwoPass(dimension);
  }

  @Override
  public CovarianceSketch exact32(int dimension) {
    return new TwoPass(dimension);
  }

  @Override
  public CovarianceSketch frequentDirections(int ell, int dimension) {
    return new TwoPass(dimension);
  }

  @Override
  public CovarianceSketch rowSample(int capacity, int dimension) {
    return new TwoPass(dimension);
  }

  /** The exact summary of {@code rows} (row-major, d wide) by the two-pass formula. */
  public static ExactSnapshot summarize(List<float[]> rows, int d) {
    int n = rows.size();
    double[] mean = new double[d];
    for (float[] r : rows) {
      for (int j = 0; j < d; j++) {
        mean[j] += r[j];
      }
    }
    for (int j = 0; j < d; j++) {
      mean[j] /= n;
    }
    double[] m = new double[d * d];
    for (float[] r : rows) {
      for (int i = 0; i < d; i++) {
        for (int j = 0; j < d; j++) {
          m[i * d + j] += (r[i] - mean[i]) * (r[j] - mean[j]);
        }
      }
    }
    return new ExactSnapshot(n, mean, m, 0);
  }

  static final class TwoPass implements CovarianceSketch {
    private final int d;
    private final List<float[]> rows = new ArrayList<>();

    TwoPass(int d) {
      this.d = d;
    }

    @Override
    public int dimension() {
      return d;
    }

    @Override
    public void update(float[] row) {
      rows.add(row.clone());
    }

    @Override
    public void update(float[] data, int rowCount) {
      for (int i = 0; i < rowCount; i++) {
        float[] r = new float[d];
        System.arraycopy(data, i * d, r, 0, d);
        rows.add(r);
      }
    }

    @Override
    public void update(double[] data, int rowCount) {
      throw new UnsupportedOperationException("the reference takes the agent's float rows");
    }

    @Override
    public CovarianceSnapshot snapshot() {
      return summarize(rows, d);
    }

    @Override
    public void reset() {
      rows.clear();
    }
  }
}
