package io.phasewatch.collector.spectrum;

/**
 * Intervals for RankMe and α of the true covariance, given a Frequent Directions spectrum λ̂.
 *
 * <p>What is known (docs/spectrum.md, "Error bounds"): FD guarantees {@code 0 ≼ AᵀA − BᵀB ≼ Δ·I}
 * (Ghashami et al. 2016), centring subtracts the same {@code nμμᵀ} from both sides, so by Weyl's
 * inequality every true eigenvalue satisfies {@code λ̂_i ≤ λ_i ≤ λ̂_i + Δ} (λ̂_i = 0 past the
 * sketch), and the true eigenvalues sum to the exactly known total variance T. The feasible spectra
 * are the box {@code [λ̂_i, λ̂_i + Δ]} cut by {@code Σ λ_i = T}; the bounds below are the extremes
 * over that set (dropping the ordering constraint only widens them, so they stay valid).
 */
final class FdBounds {

  /** Grid points over the top-k sum when k < d (the only non-closed-form step). */
  static final int TOP_SUM_GRID = 129;

  private FdBounds() {}

  /**
   * RankMe is a Schur-concave function of the top-k eigenvalues normalised by their sum. For a
   * fixed top-k sum S, the vector that majorises every feasible one fills the dropped mass from the
   * top (greedy, each entry up to +Δ): minimum RankMe; the vector majorised by every feasible one
   * is the water-filling {@code clamp(c, λ̂_i, λ̂_i + Δ)}: maximum RankMe. When k = d, S = T. When
   * k < d (N < d or d > 2048) S ranges over an interval and the extremes are taken over a grid of
   * S.
   */
  static double[] rankMeInterval(double[] lam, int d, int k, double delta, double total) {
    double[] lo = new double[k];
    double sumLoTop = 0;
    for (int i = 0; i < k; i++) {
      lo[i] = i < lam.length ? lam[i] : 0.0;
      sumLoTop += lo[i];
    }
    double sumLoTail = 0;
    for (int i = k; i < lam.length; i++) {
      sumLoTail += lam[i];
    }
    double sumHiTop = sumLoTop + k * delta;
    double sumHiTail = sumLoTail + (double) (d - k) * delta;
    double sLo;
    double sHi;
    if (k == d) {
      sLo = clamp(total, sumLoTop, sumHiTop);
      sHi = sLo;
    } else {
      sLo = Math.max(sumLoTop, total - sumHiTail);
      sHi = Math.min(sumHiTop, total - sumLoTail);
      if (sLo > sHi) {
        // Only rounding can get here: T and λ̂ disagree in the last bits.
        sLo = clamp(total - sumLoTail, sumLoTop, sumHiTop);
        sHi = sLo;
      }
    }
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    int points = sHi > sLo ? TOP_SUM_GRID : 1;
    for (int g = 0; g < points; g++) {
      double s = points == 1 ? sLo : sLo + (sHi - sLo) * g / (points - 1);
      min = Math.min(min, SpectralMeasures.rankMe(greedyFromTop(lo, delta, s - sumLoTop), k));
      max = Math.max(max, SpectralMeasures.rankMe(waterFill(lo, delta, s), k));
    }
    return new double[] {min, max};
  }

  /**
   * α = Σ c_i ln λ_i over the window. Its maximum raises the entries with c_i > 0 and holds the
   * others at λ̂_i; the raises are at most Δ each and D = T − Σ λ̂ in total, and maximising the
   * concave {@code Σ c_i ln(λ̂_i + δ_i)} under those caps is a water-filling problem. The minimum
   * is the mirror image. An entry held at λ̂_i = 0 makes that end infinite.
   */
  static double[] alphaInterval(
      double[] lam, FitRange w, double[] coef, double delta, double dropped) {
    double hi = extreme(lam, w, coef, delta, dropped, 1.0);
    double lo = -extreme(lam, w, coef, delta, dropped, -1.0);
    return new double[] {lo, hi};
  }

  /** max of sign·α over the feasible set. */
  private static double extreme(
      double[] lam, FitRange w, double[] coef, double delta, double dropped, double sign) {
    int m = w.size();
    double value = 0;
    double[] raisedLo = new double[m];
    double[] raisedC = new double[m];
    int r = 0;
    for (int j = 0; j < m; j++) {
      double c = sign * coef[j];
      double l = w.first() - 1 + j < lam.length ? lam[w.first() - 1 + j] : 0.0;
      if (c > 0) {
        raisedLo[r] = l;
        raisedC[r] = c;
        r++;
      } else if (c < 0) {
        if (!(l > 0)) {
          return Double.POSITIVE_INFINITY;
        }
        value += c * Math.log(l);
      }
    }
    double budget = Math.min(dropped, r * delta);
    double[] x = logWaterFill(raisedLo, raisedC, r, delta, budget);
    for (int j = 0; j < r; j++) {
      if (!(x[j] > 0)) {
        return Double.NEGATIVE_INFINITY;
      }
      value += raisedC[j] * Math.log(x[j]);
    }
    return value;
  }

  /** argmax Σ c_j ln x_j, x_j ∈ [l_j, l_j + Δ], Σ (x_j − l_j) = budget: x_j = clamp(c_j t, …). */
  private static double[] logWaterFill(double[] l, double[] c, int r, double delta, double budget) {
    double[] x = new double[r];
    double tHi = 0;
    for (int j = 0; j < r; j++) {
      tHi = Math.max(tHi, (l[j] + delta) / c[j]);
    }
    double tLo = 0;
    for (int it = 0; it < 200; it++) {
      double t = 0.5 * (tLo + tHi);
      double used = 0;
      for (int j = 0; j < r; j++) {
        used += clamp(c[j] * t, l[j], l[j] + delta) - l[j];
      }
      if (used < budget) {
        tLo = t;
      } else {
        tHi = t;
      }
    }
    for (int j = 0; j < r; j++) {
      x[j] = clamp(c[j] * tHi, l[j], l[j] + delta);
    }
    return x;
  }

  private static double[] greedyFromTop(double[] lo, double delta, double mass) {
    double[] x = lo.clone();
    double rem = Math.max(0.0, mass);
    for (int i = 0; i < x.length && rem > 0; i++) {
      double add = Math.min(delta, rem);
      x[i] += add;
      rem -= add;
    }
    return x;
  }

  /** clamp(c, lo_i, lo_i + Δ) with Σ = s (the least spread feasible vector). */
  private static double[] waterFill(double[] lo, double delta, double s) {
    double cLo = 0;
    double cHi = 0;
    for (double v : lo) {
      cHi = Math.max(cHi, v + delta);
    }
    for (int it = 0; it < 200; it++) {
      double c = 0.5 * (cLo + cHi);
      double sum = 0;
      for (double v : lo) {
        sum += clamp(c, v, v + delta);
      }
      if (sum < s) {
        cLo = c;
      } else {
        cHi = c;
      }
    }
    double[] x = new double[lo.length];
    for (int i = 0; i < lo.length; i++) {
      x[i] = clamp(cHi, lo[i], lo[i] + delta);
    }
    return x;
  }

  private static double clamp(double v, double lo, double hi) {
    return Math.max(lo, Math.min(hi, v));
  }
}
