package io.phasewatch.collector.phase;

/**
 * Critical values of Student's t distribution, so that a trend estimated from a handful of
 * observations (few degrees of freedom, a noise estimate that may be small by chance) must clear a
 * higher bar than one estimated from many: a significance of 5 means "as unlikely under no trend as
 * a normal deviate of 5", whatever the degrees of freedom.
 *
 * <p>The tail is 0.5 · I_{ν/(ν+t²)}(ν/2, 1/2) (regularized incomplete beta, continued fraction and
 * log-gamma as in Numerical Recipes, 3rd ed., §6.1 and §6.4); the critical value is found by
 * bisection. The normal tail uses erfc by the same book's Chebyshev fit (relative error below
 * 1.2e-7), ample for a threshold.
 */
final class StudentT {

  /**
   * Tabulated degrees of freedom; beyond them the value for the last is used, which is the larger
   * (conservative). The detector's noise estimate never has more than 2/3 · 64 + 6 = 48.
   */
  static final int MAX_TABULATED_DOF = 64;

  /** Tables by z: every detector of a collector shares the few it uses. */
  private static final java.util.concurrent.ConcurrentHashMap<Double, double[]> TABLES =
      new java.util.concurrent.ConcurrentHashMap<>();

  private StudentT() {}

  /**
   * The critical values t_ν, ν = 0 … {@link #MAX_TABULATED_DOF}, with P(T_ν > t_ν) = P(Z > z);
   * index 0 holds +∞ (no degrees of freedom: nothing is significant).
   */
  static double[] criticalValues(double z) {
    return TABLES.computeIfAbsent(z, StudentT::tabulate);
  }

  private static double[] tabulate(double z) {
    double tail = 0.5 * erfc(z / Math.sqrt(2));
    double[] t = new double[MAX_TABULATED_DOF + 1];
    t[0] = Double.POSITIVE_INFINITY;
    for (int dof = 1; dof <= MAX_TABULATED_DOF; dof++) {
      t[dof] = z <= 0 ? 0 : critical(tail, dof, z);
    }
    return t;
  }

  /** The critical value for {@code dof} from a table of {@link #criticalValues}. */
  static double lookup(double[] table, int dof) {
    if (dof <= 0) {
      return Double.POSITIVE_INFINITY;
    }
    return table[Math.min(dof, table.length - 1)];
  }

  private static double critical(double tail, int dof, double z) {
    double lo = z;
    double hi = z;
    while (upperTail(hi, dof) > tail) {
      hi *= 2;
      if (hi > 1e12) {
        return hi;
      }
    }
    for (int i = 0; i < 200 && hi - lo > 1e-9 * hi; i++) {
      double mid = 0.5 * (lo + hi);
      if (upperTail(mid, dof) > tail) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    return hi;
  }

  static double upperTail(double t, int dof) {
    double x = dof / (dof + t * t);
    return 0.5 * incompleteBeta(0.5 * dof, 0.5, x);
  }

  private static double incompleteBeta(double a, double b, double x) {
    if (x <= 0) {
      return 0;
    }
    if (x >= 1) {
      return 1;
    }
    double front =
        Math.exp(
            logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x));
    if (x < (a + 1) / (a + b + 2)) {
      return front * continuedFraction(a, b, x) / a;
    }
    return 1 - front * continuedFraction(b, a, 1 - x) / b;
  }

  private static double continuedFraction(double a, double b, double x) {
    final double tiny = 1e-300;
    double qab = a + b;
    double qap = a + 1;
    double qam = a - 1;
    double c = 1;
    double d = 1 - qab * x / qap;
    d = Math.abs(d) < tiny ? tiny : d;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 10_000; m++) {
      int m2 = 2 * m;
      double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
      d = 1 + aa * d;
      d = Math.abs(d) < tiny ? tiny : d;
      c = 1 + aa / c;
      c = Math.abs(c) < tiny ? tiny : c;
      d = 1 / d;
      h *= d * c;
      aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
      d = 1 + aa * d;
      d = Math.abs(d) < tiny ? tiny : d;
      c = 1 + aa / c;
      c = Math.abs(c) < tiny ? tiny : c;
      d = 1 / d;
      double del = d * c;
      h *= del;
      if (Math.abs(del - 1) < 1e-15) {
        break;
      }
    }
    return h;
  }

  /** ln Γ(x), x > 0 (Lanczos, g = 5, six terms: relative error below 2e-10). */
  private static double logGamma(double x) {
    final double[] cof = {
      76.18009172947146,
      -86.50532032941677,
      24.01409824083091,
      -1.231739572450155,
      0.1208650973866179e-2,
      -0.5395239384953e-5
    };
    double y = x;
    double tmp = x + 5.5;
    tmp -= (x + 0.5) * Math.log(tmp);
    double ser = 1.000000000190015;
    for (double c : cof) {
      ser += c / ++y;
    }
    return -tmp + Math.log(2.5066282746310005 * ser / x);
  }

  /** erfc(x), x ≥ 0. */
  static double erfc(double x) {
    double z = Math.abs(x);
    double t = 1 / (1 + 0.5 * z);
    double ans =
        t
            * Math.exp(
                -z * z
                    - 1.26551223
                    + t
                        * (1.00002368
                            + t
                                * (0.37409196
                                    + t
                                        * (0.09678418
                                            + t
                                                * (-0.18628806
                                                    + t
                                                        * (0.27886807
                                                            + t
                                                                * (-1.13520398
                                                                    + t
                                                                        * (1.48851587
                                                                            + t
                                                                                * (-0.82215223
                                                                                    + t
                                                                                        * 0.17087277)))))))));
    return x >= 0 ? ans : 2 - ans;
  }
}
