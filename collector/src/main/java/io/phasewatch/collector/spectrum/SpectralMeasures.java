package io.phasewatch.collector.spectrum;

import java.util.Objects;

/**
 * The study's measures of one spectrum (arXiv 2509.23024; formulas in docs/spectrum.md).
 *
 * <p>For a Frequent Directions spectrum, {@code [effectiveRankLow, effectiveRankHigh]} and {@code
 * [alphaLow, alphaHigh]} are intervals that contain the values of the true (unsketched) covariance,
 * derived from FD's per-eigenvalue guarantee and the exactly known dropped variance; for an exact
 * spectrum they collapse to the value. The point values are those of the sketched eigenvalues.
 *
 * @param effectiveRank RankMe in the study's variant over the top {@code min(2048, n, d)}
 *     eigenvalues
 * @param alpha weighted least-squares power-law exponent over {@link #fitRange()}; NaN with {@link
 *     #alphaNote()} when no window exists
 * @param alphaR2 the weighted R² of that fit
 * @param fitRange the window actually fitted; null when α is NaN
 * @param fallbackWindow true when the requested window did not exist and the fallback was fitted
 * @param alphaNote why the fallback was used or α is NaN; empty otherwise
 * @param top1Share λ_1 / total variance
 * @param top10Share (λ_1 + … + λ_10) / total variance
 */
public record SpectralMeasures(
    long count,
    int dimension,
    Spectrum.Kind kind,
    double effectiveRank,
    double effectiveRankLow,
    double effectiveRankHigh,
    double alpha,
    double alphaLow,
    double alphaHigh,
    double alphaR2,
    FitRange fitRange,
    boolean fallbackWindow,
    String alphaNote,
    double participationRatio,
    double top1Share,
    double top10Share,
    double totalVariance,
    double sketchEffectiveRank,
    double sketchAlpha) {

  /** The study keeps at most this many eigenvalues for RankMe. */
  public static final int RANKME_MAX_EIGENVALUES = 2048;

  /** The study's ε added to each normalised eigenvalue. */
  public static final double RANKME_EPSILON = 1e-7;

  /** The fallback window is ranks 2 … min(FALLBACK_LAST, d − 1, positive eigenvalues). */
  public static final int FALLBACK_FIRST = 2;

  public static final int FALLBACK_LAST = 50;

  public SpectralMeasures {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(alphaNote, "alphaNote");
    if (count < 0 || dimension < 1) {
      throw new IllegalArgumentException(
          "spectral measures: need count ≥ 0 and d ≥ 1, got " + count + ", " + dimension);
    }
  }

  /** The measures with the study's fit window 12…100. */
  public static SpectralMeasures of(Spectrum s) {
    return of(s, FitRange.STUDY);
  }

  public static SpectralMeasures of(Spectrum s, FitRange requested) {
    Objects.requireNonNull(requested, "fit range");
    double[] lam = s.eigenvalues();
    int d = s.dimension();
    double total = s.totalVariance();

    int k = (int) Math.min(Math.min((long) RANKME_MAX_EIGENVALUES, s.count()), d);
    double rankMe = rankMe(lam, k);

    int positive = positiveCount(lam, d);
    FitRange window = requested;
    boolean fallback = false;
    String note = "";
    if (requested.last() > positive || requested.last() > d) {
      int last = Math.min(FALLBACK_LAST, Math.min(d - 1, positive));
      fallback = true;
      if (last >= FALLBACK_FIRST + 2) {
        window = new FitRange(FALLBACK_FIRST, last);
        note =
            "window "
                + requested
                + " needs "
                + requested.last()
                + " positive eigenvalues, have "
                + positive
                + " (d="
                + d
                + "); fitted fallback "
                + window;
      } else {
        window = null;
        note =
            "no fit: "
                + positive
                + " positive eigenvalues (d="
                + d
                + ") are too few for "
                + requested
                + " or the fallback "
                + FALLBACK_FIRST
                + ":min("
                + FALLBACK_LAST
                + ", d-1)";
      }
    }
    double alpha = Double.NaN;
    double r2 = Double.NaN;
    double alphaLow = Double.NaN;
    double alphaHigh = Double.NaN;
    if (window != null) {
      double[] coef = slopeCoefficients(window);
      double[] fit = fitPowerLaw(lam, window);
      alpha = fit[0];
      r2 = fit[1];
      alphaLow = alpha;
      alphaHigh = alpha;
      if (s.kind() == Spectrum.Kind.FREQUENT_DIRECTIONS) {
        double[] b = FdBounds.alphaInterval(lam, window, coef, s.shrinkage(), dropped(lam, total));
        alphaLow = b[0];
        alphaHigh = b[1];
      }
    }
    double rankLow = rankMe;
    double rankHigh = rankMe;
    if (s.kind() == Spectrum.Kind.FREQUENT_DIRECTIONS && s.count() > 0) {
      double[] b = FdBounds.rankMeInterval(lam, d, k, s.shrinkage(), total);
      rankLow = b[0];
      rankHigh = b[1];
    }

    double sum = 0;
    double sumSq = 0;
    for (double v : lam) {
      sum += v;
      sumSq += v * v;
    }
    double pr = sumSq > 0 ? sum * sum / sumSq : Double.NaN;
    double top1 = total > 0 ? s.eigenvalue(0) / total : Double.NaN;
    double top10 = 0;
    for (int i = 0; i < 10; i++) {
      top10 += s.eigenvalue(i);
    }
    top10 = total > 0 ? top10 / total : Double.NaN;
    return new SpectralMeasures(
        s.count(),
        d,
        s.kind(),
        centre(rankMe, rankLow, rankHigh),
        rankLow,
        rankHigh,
        centre(alpha, alphaLow, alphaHigh),
        alphaLow,
        alphaHigh,
        r2,
        window,
        fallback,
        note,
        pr,
        top1,
        top10,
        total,
        rankMe,
        alpha);
  }

  /** The centre of a finite interval (the minimax estimate); the sketch's value otherwise. */
  private static double centre(double value, double low, double high) {
    if (Double.isFinite(low) && Double.isFinite(high) && low != high) {
      return 0.5 * (low + high);
    }
    return value;
  }

  /** Largest distance from the RankMe estimate to an end of its interval (0 for exact). */
  public double effectiveRankErrorBound() {
    return Math.max(effectiveRankHigh - effectiveRank, effectiveRank - effectiveRankLow);
  }

  /** Largest distance from α to an end of its interval (0 for exact, NaN without a fit). */
  public double alphaErrorBound() {
    return Math.max(alphaHigh - alpha, alpha - alphaLow);
  }

  /**
   * RankMe, the study's variant: {@code p_i = λ_i / Σ_j |λ_j| + ε} over the top k eigenvalues,
   * {@code exp(−Σ p_i ln p_i)}. NaN when the k eigenvalues are all 0.
   */
  static double rankMe(double[] lam, int k) {
    double norm = 0;
    for (int i = 0; i < k; i++) {
      norm += Math.abs(at(lam, i));
    }
    if (!(norm > 0)) {
      return Double.NaN;
    }
    double h = 0;
    for (int i = 0; i < k; i++) {
      double p = at(lam, i) / norm + RANKME_EPSILON;
      h -= p * Math.log(p);
    }
    return Math.exp(h);
  }

  /**
   * Eigenvalues above {@code λ_1 · d · 2⁻⁵²}, the rounding floor of a symmetric eigensolver on a d
   * × d matrix; below it an eigenvalue is numerically zero and its logarithm meaningless.
   */
  static int positiveCount(double[] lam, int d) {
    if (lam.length == 0 || !(lam[0] > 0)) {
      return 0;
    }
    double tol = lam[0] * d * Math.ulp(1.0);
    int c = 0;
    while (c < lam.length && lam[c] > tol) {
      c++;
    }
    return c;
  }

  /**
   * Weighted least squares of {@code ln λ_i} on {@code [−ln i, 1]} with weights {@code 1/i}
   * (Agrawal et al. 2022, α-ReQ): slope and weighted R². Returns {α, R²}; R² is NaN for a flat
   * spectrum.
   */
  static double[] fitPowerLaw(double[] lam, FitRange w) {
    double sw = 0;
    double sx = 0;
    double sy = 0;
    for (int i = w.first(); i <= w.last(); i++) {
      double wi = 1.0 / i;
      sw += wi;
      sx += wi * -Math.log(i);
      sy += wi * Math.log(lam[i - 1]);
    }
    double mx = sx / sw;
    double my = sy / sw;
    double sxx = 0;
    double sxy = 0;
    double syy = 0;
    for (int i = w.first(); i <= w.last(); i++) {
      double wi = 1.0 / i;
      double dx = -Math.log(i) - mx;
      double dy = Math.log(lam[i - 1]) - my;
      sxx += wi * dx * dx;
      sxy += wi * dx * dy;
      syy += wi * dy * dy;
    }
    double slope = sxy / sxx;
    double intercept = my - slope * mx;
    double ssRes = 0;
    for (int i = w.first(); i <= w.last(); i++) {
      double r = Math.log(lam[i - 1]) - (slope * -Math.log(i) + intercept);
      ssRes += r * r / i;
    }
    double r2 = syy > 0 ? 1.0 - ssRes / syy : Double.NaN;
    return new double[] {slope, r2};
  }

  /** α = Σ c_i ln λ_i: the fitted slope is linear in the log-eigenvalues. */
  static double[] slopeCoefficients(FitRange w) {
    double sw = 0;
    double sx = 0;
    for (int i = w.first(); i <= w.last(); i++) {
      sw += 1.0 / i;
      sx += -Math.log(i) / i;
    }
    double mx = sx / sw;
    double sxx = 0;
    for (int i = w.first(); i <= w.last(); i++) {
      double dx = -Math.log(i) - mx;
      sxx += dx * dx / i;
    }
    double[] c = new double[w.size()];
    for (int i = w.first(); i <= w.last(); i++) {
      c[i - w.first()] = (-Math.log(i) - mx) / i / sxx;
    }
    return c;
  }

  private static double dropped(double[] lam, double total) {
    double sum = 0;
    for (double v : lam) {
      sum += v;
    }
    return Math.max(0.0, total - sum);
  }

  private static double at(double[] lam, int i) {
    return i < lam.length ? lam[i] : 0.0;
  }
}
