package io.phasewatch.agent.djl;

import java.util.Arrays;

/**
 * The study's two measures from raw rows, for the experiment and tests only (the collector has its
 * own EJML implementation): covariance eigenvalues by cyclic Jacobi rotations, RankMe (DESIGN.md:
 * {@code p_i = λ_i / Σ|λ_j| + 1e-7}, {@code exp(-Σ p_i ln p_i)}) and α by weighted least squares of
 * {@code ln λ_i} on {@code [-ln i, 1]} with weights {@code 1/i} over ranks {@code lo…hi}.
 */
public final class Spectra {

  private Spectra() {}

  /** Eigenvalues of the centred covariance of {@code n × d} rows, descending. */
  public static double[] covarianceEigenvalues(float[] rows, int n, int d) {
    double[] mean = new double[d];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < d; j++) {
        mean[j] += rows[i * d + j];
      }
    }
    for (int j = 0; j < d; j++) {
      mean[j] /= n;
    }
    double[][] c = new double[d][d];
    double[] x = new double[d];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < d; j++) {
        x[j] = rows[i * d + j] - mean[j];
      }
      for (int a = 0; a < d; a++) {
        double xa = x[a];
        for (int b = a; b < d; b++) {
          c[a][b] += xa * x[b];
        }
      }
    }
    for (int a = 0; a < d; a++) {
      for (int b = a; b < d; b++) {
        c[a][b] /= Math.max(1, n - 1);
        c[b][a] = c[a][b];
      }
    }
    double[] ev = jacobi(c);
    Arrays.sort(ev);
    double[] desc = new double[d];
    for (int i = 0; i < d; i++) {
      desc[i] = ev[d - 1 - i];
    }
    return desc;
  }

  /** Eigenvalues of a symmetric matrix (destroyed), classic cyclic Jacobi. */
  public static double[] jacobi(double[][] a) {
    int n = a.length;
    for (int sweep = 0; sweep < 100; sweep++) {
      double off = 0;
      double diag = 0;
      for (int p = 0; p < n; p++) {
        diag += a[p][p] * a[p][p];
        for (int q = p + 1; q < n; q++) {
          off += a[p][q] * a[p][q];
        }
      }
      if (off <= 1e-22 * diag) {
        break;
      }
      for (int p = 0; p < n; p++) {
        for (int q = p + 1; q < n; q++) {
          double apq = a[p][q];
          if (Math.abs(apq) < 1e-300) {
            continue;
          }
          double theta = (a[q][q] - a[p][p]) / (2 * apq);
          double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
          if (theta == 0) {
            t = 1;
          }
          double cs = 1 / Math.sqrt(t * t + 1);
          double sn = t * cs;
          for (int k = 0; k < n; k++) {
            double akp = a[k][p];
            double akq = a[k][q];
            a[k][p] = cs * akp - sn * akq;
            a[k][q] = sn * akp + cs * akq;
          }
          for (int k = 0; k < n; k++) {
            double apk = a[p][k];
            double aqk = a[q][k];
            a[p][k] = cs * apk - sn * aqk;
            a[q][k] = sn * apk + cs * aqk;
          }
        }
      }
    }
    double[] ev = new double[n];
    for (int i = 0; i < n; i++) {
      ev[i] = a[i][i];
    }
    return ev;
  }

  public static double rankMe(double[] eigenvalues) {
    double sum = 0;
    for (double l : eigenvalues) {
      sum += Math.abs(l);
    }
    double h = 0;
    for (double l : eigenvalues) {
      double p = l / sum + 1e-7;
      h -= p * Math.log(p);
    }
    return Math.exp(h);
  }

  /** {α, R²} over 1-based ranks {@code lo…hi}; eigenvalues ≤ 0 are left out of the fit. */
  public static double[] alpha(double[] eigenvalues, int lo, int hi) {
    double sw = 0;
    double sx = 0;
    double sy = 0;
    double sxx = 0;
    double sxy = 0;
    int used = 0;
    for (int i = lo; i <= Math.min(hi, eigenvalues.length); i++) {
      double l = eigenvalues[i - 1];
      if (l <= 0) {
        continue;
      }
      double w = 1.0 / i;
      double x = -Math.log(i);
      double y = Math.log(l);
      sw += w;
      sx += w * x;
      sy += w * y;
      sxx += w * x * x;
      sxy += w * x * y;
      used++;
    }
    if (used < 3) {
      return new double[] {Double.NaN, Double.NaN};
    }
    double slope = (sw * sxy - sx * sy) / (sw * sxx - sx * sx);
    double intercept = (sy - slope * sx) / sw;
    double ybar = sy / sw;
    double ssRes = 0;
    double ssTot = 0;
    for (int i = lo; i <= Math.min(hi, eigenvalues.length); i++) {
      double l = eigenvalues[i - 1];
      if (l <= 0) {
        continue;
      }
      double w = 1.0 / i;
      double y = Math.log(l);
      double fit = slope * -Math.log(i) + intercept;
      ssRes += w * (y - fit) * (y - fit);
      ssTot += w * (y - ybar) * (y - ybar);
    }
    return new double[] {slope, 1 - ssRes / ssTot};
  }
}
