package io.phasewatch.collector.phase;

import java.util.ArrayDeque;

/**
 * The recent series of one segment on the x = ln(1 + step − origin) axis, binned so that memory is
 * bounded however dense the observations are, and the current <em>regime</em>: the trend since the
 * series last turned.
 *
 * <p>Each bin keeps its count and raw sums (x, x², RankMe, RankMe², x·RankMe and the same for α),
 * which is all a least-squares fit needs. Over the bins from an anchor (the onset of the phase the
 * detector is in) to now, it fits a straight line and every continuous broken line ("hinge") with
 * its knot at the last observation of one bin: y = a + b·(x − τ) + c·(x − τ)₊. The knot with the
 * smallest RankMe residual sum of squares is the turn, if its slope change c is significant; the
 * regime is then the segment after the knot (slope b + c, onset τ), otherwise the whole line from
 * the anchor. So after a V the new direction is measured from the bottom of the V onward, not
 * averaged with the old one over a fixed reach-back; the continuity at the knot lends the new
 * segment the level that the old one pins down, which is what lets a few observations after a turn
 * carry a significant slope.
 *
 * <p>Per knot the sums after it come from running suffix sums, so one regime costs O(bins) and the
 * bins are at most horizon / binWidth + 1.
 */
final class LogStepWindow {

  /**
   * One measure's fit over the regime, in units of the measure per unit of x.
   *
   * @param noise the measure's noise standard deviation, estimated from the median absolute second
   *     difference of the latest {@link #NOISE_OBSERVATIONS} consecutive observations (a local line
   *     cancels, so a trend does not pass for noise, and the median ignores the few large
   *     differences at a turn), pooled with the prior belief about the noise
   * @param noiseDof the degrees of freedom of a t statistic built on {@code noise}
   */
  record Measure(
      double slope,
      double slopeScale,
      double atOnset,
      double atEnd,
      double change,
      double noise,
      long noiseDof) {

    /** Standard error of the slope if the noise standard deviation were {@code noise}. */
    double slopeError(double noise) {
      return slopeScale * noise;
    }
  }

  /**
   * The trend since the last turn (or since the anchor, if none is significant).
   *
   * @param onsetStep step of the observation where the regime begins (the knot, or the anchor)
   * @param onsetX its x
   * @param knotted true when the regime starts at a significant turn, false for the anchor line
   * @param points observations after the onset
   * @param observations observations in the fit (before and after the knot)
   * @param span x from the onset to the newest observation
   * @param onsetRank the mean of the first measure over the onset's bin, as observed (through the
   *     running median), not as fitted
   */
  record Regime(
      long onsetStep,
      double onsetX,
      boolean knotted,
      long points,
      long observations,
      double span,
      double onsetRank,
      Measure rank,
      Measure alpha) {}

  private static final class Bin {
    final long index;
    long n;
    double sx;
    double sxx;
    double sr;
    double srr;
    double sxr;
    double sa;
    double saa;
    double sxa;
    double minX;
    double maxX;
    long minStep;
    long maxStep;

    Bin(long index, double x, long step) {
      this.index = index;
      this.minX = x;
      this.minStep = step;
    }

    void add(double x, long step, double r, double a) {
      n++;
      sx += x;
      sxx += x * x;
      sr += r;
      srr += r * r;
      sxr += x * r;
      sa += a;
      saa += a * a;
      sxa += x * a;
      maxX = x;
      maxStep = step;
    }
  }

  /** Running sums of a set of bins; the sums of the bins after a knot. */
  private static final class Sums {
    double n;
    double sx;
    double sxx;
    double sr;
    double srr;
    double sxr;
    double sa;
    double saa;
    double sxa;

    void add(Bin b) {
      n += b.n;
      sx += b.sx;
      sxx += b.sxx;
      sr += b.sr;
      srr += b.srr;
      sxr += b.sxr;
      sa += b.sa;
      saa += b.saa;
      sxa += b.sxa;
    }
  }

  private final double binWidth;
  private final double horizon;
  private final int minPoints;
  private final int maxBins;
  private final double noiseFloor;
  private final int priorDof;
  private final double priorNoise;
  private final ArrayDeque<Bin> bins = new ArrayDeque<>();

  /** The bins of the current fit, oldest first (reused: one regime per observation). */
  private final Bin[] window;

  /** Second differences kept for the noise estimate: local in time, bounded in memory. */
  static final int NOISE_OBSERVATIONS = 64;

  private final double[] rankDiffs = new double[NOISE_OBSERVATIONS];
  private final double[] alphaDiffs = new double[NOISE_OBSERVATIONS];
  private int diffs;
  private int nextDiff;

  /** The two previous observations (RankMe, α), newest first, for the second differences. */
  private int previous;

  private double rank1;
  private double rank2;
  private double alpha1;
  private double alpha2;

  /**
   * @param noiseFloor the noise standard deviation is taken as at least this fraction of the
   *     measure's level
   * @param priorDof weight, in degrees of freedom, of the prior belief about the noise
   * @param priorNoise the noise the prior believes in, as a multiple of the floor
   */
  LogStepWindow(
      double binWidth,
      double horizon,
      int minPoints,
      double noiseFloor,
      int priorDof,
      double priorNoise) {
    this.binWidth = binWidth;
    this.horizon = horizon;
    this.minPoints = minPoints;
    this.noiseFloor = noiseFloor;
    this.priorDof = priorDof;
    this.priorNoise = priorNoise;
    this.maxBins = (int) Math.ceil(horizon / binWidth) + 1;
    this.window = new Bin[maxBins + 1];
  }

  /**
   * Adds one observation. The fit sees each measure through a running median of three: one window
   * out of line with both neighbours (a loss spike, which grokking runs show as RankMe dropping by
   * a third for a window, or a bad probe) moves no regime, at the price of one window of delay at a
   * genuine step. The noise is estimated on the raw values: the median's output is smoother than
   * its input, and its autocorrelation would make the noise look smaller than a slope's error is.
   */
  void add(double x, long step, double rank, double alpha) {
    double fitRank = rank;
    double fitAlpha = alpha;
    if (previous == 2) {
      fitRank = median(rank2, rank1, rank);
      fitAlpha = median(alpha2, alpha1, alpha);
      rankDiffs[nextDiff] = Math.abs(rank - 2 * rank1 + rank2);
      alphaDiffs[nextDiff] = Math.abs(alpha - 2 * alpha1 + alpha2);
      nextDiff = (nextDiff + 1) % NOISE_OBSERVATIONS;
      diffs = Math.min(NOISE_OBSERVATIONS, diffs + 1);
    }
    previous = Math.min(2, previous + 1);
    rank2 = rank1;
    rank1 = rank;
    alpha2 = alpha1;
    alpha1 = alpha;
    long index = (long) Math.floor(x / binWidth);
    Bin last = bins.peekLast();
    if (last == null || last.index != index) {
      last = new Bin(index, x, step);
      bins.addLast(last);
    }
    last.add(x, step, fitRank, fitAlpha);
    while (bins.size() > maxBins || bins.peekFirst().maxX < x - horizon) {
      bins.removeFirst();
    }
  }

  private static double median(double a, double b, double c) {
    return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
  }

  /**
   * The regime over the bins from {@code anchorX} on (within the horizon), or null while they hold
   * fewer than minPoints observations.
   *
   * @param turnCritical the |t| a knot's slope change needs, by the noise estimate's degrees of
   *     freedom (a table of {@link StudentT#criticalValues})
   */
  Regime regime(double anchorX, double[] turnCritical) {
    int size = 0;
    Sums all = new Sums();
    for (Bin b : bins) {
      if (b.maxX >= anchorX) {
        window[size++] = b;
        all.add(b);
      }
    }
    if (all.n < minPoints || size < 2) {
      return null;
    }
    // A median has about 2/3 of the efficiency of a standard deviation under normal noise.
    long dof = diffs * 2L / 3 + priorDof;
    // The first measure is ln RankMe (the floor is relative to RankMe, so absolute here), the
    // second α itself (the floor relative to its mean).
    double noiseR = pooled(noise(rankDiffs), noiseFloor);
    double noiseA = pooled(noise(alphaDiffs), noiseFloor * Math.abs(all.sa / all.n));
    Bin first = window[0];
    double xEnd = window[size - 1].maxX;

    // Best knot: at the last observation of bin k − 1; at least two bins before it (a slope to
    // turn from), at least minPoints observations and two bins after it. The sums after the knot
    // accumulate from the newest bin backwards.
    int bestK = -1;
    double bestRss = Double.POSITIVE_INFINITY;
    Sums post = new Sums();
    for (int k = size - 1; k >= 2; k--) {
      post.add(window[k]);
      if (k > size - 2 || post.n < minPoints) {
        continue;
      }
      double rss = hingeRss(all, post, window[k - 1].maxX);
      if (rss < bestRss) {
        bestRss = rss;
        bestK = k;
      }
    }
    double[] bestCoef = null;
    double[][] bestInv = null;
    Sums bestPost = new Sums();
    if (bestK > 0) {
      for (int k = bestK; k < size; k++) {
        bestPost.add(window[k]);
      }
      double tau = window[bestK - 1].maxX;
      bestInv = invert3(hingeMatrix(all, bestPost, tau));
      if (bestInv == null) {
        bestK = -1;
      } else {
        bestCoef = multiply(bestInv, hingeRhs(all, bestPost, tau, true));
      }
    }
    if (bestK > 0) {
      // The turn is real when the change of slope stands out of the measurement noise.
      double seC = noiseR * Math.sqrt(bestInv[2][2]);
      double tC = seC > 0 ? Math.abs(bestCoef[2]) / seC : Double.POSITIVE_INFINITY;
      if (tC >= StudentT.lookup(turnCritical, (int) Math.min(dof, Integer.MAX_VALUE))) {
        Bin knot = window[bestK - 1];
        double tau = knot.maxX;
        Sums p = bestPost;
        Measure rank = hingeMeasure(bestCoef, bestInv, tau, xEnd, noiseR, dof);
        double[] coefA = multiply(bestInv, hingeRhs(all, p, tau, false));
        Measure alpha = hingeMeasure(coefA, bestInv, tau, xEnd, noiseA, dof);
        return new Regime(
            knot.maxStep,
            tau,
            true,
            (long) p.n,
            (long) all.n,
            xEnd - tau,
            knot.sr / knot.n,
            rank,
            alpha);
      }
    }
    double x0 = first.minX;
    Measure rank = lineMeasure(all.n, all.sx, all.sxx, all.sr, all.sxr, x0, xEnd, noiseR, dof);
    Measure alpha = lineMeasure(all.n, all.sx, all.sxx, all.sa, all.sxa, x0, xEnd, noiseA, dof);
    if (rank == null || alpha == null) {
      return null;
    }
    return new Regime(
        first.minStep,
        x0,
        false,
        (long) all.n,
        (long) all.n,
        xEnd - x0,
        first.sr / first.n,
        rank,
        alpha);
  }

  /**
   * The noise standard deviation: the second-difference estimate pooled with a prior of {@code
   * priorDof} degrees of freedom at {@code priorNoise} times the floor (a scaled-inverse-χ² prior,
   * whose posterior makes a slope's t a Student t with their summed degrees of freedom), and never
   * below the floor. With few observations the floor and the Student-t value guard; with many the
   * estimate decides.
   */
  private double pooled(double estimate, double floor) {
    double nu = diffs * 2.0 / 3;
    double prior = priorNoise * floor;
    double variance = (nu * estimate * estimate + priorDof * prior * prior) / (nu + priorDof);
    return Math.max(floor, Math.sqrt(variance));
  }

  void clear() {
    bins.clear();
    previous = 0;
    diffs = 0;
    nextDiff = 0;
  }

  /**
   * σ from the median absolute second difference: y_i − 2y_{i−1} + y_{i−2} has standard deviation
   * √6 σ under independent noise, and a normal variable's median absolute value is 0.6745 of its
   * standard deviation.
   */
  private double noise(double[] ring) {
    if (diffs == 0) {
      return 0.0;
    }
    double[] d = java.util.Arrays.copyOf(ring, diffs);
    java.util.Arrays.sort(d);
    double median = diffs % 2 == 1 ? d[diffs / 2] : 0.5 * (d[diffs / 2 - 1] + d[diffs / 2]);
    return median / (0.6745 * Math.sqrt(6.0));
  }

  /**
   * Residual sum of squares of RankMe's hinge fit with its knot at τ, without allocating (this runs
   * for every candidate knot of every observation): the 3 × 3 normal equations by Cramer's rule; +∞
   * when they are singular.
   */
  private static double hingeRss(Sums all, Sums post, double tau) {
    double su = all.sx - all.n * tau;
    double suu = all.sxx - 2 * tau * all.sx + all.n * tau * tau;
    double sh = post.sx - post.n * tau;
    double shh = post.sxx - 2 * tau * post.sx + post.n * tau * tau;
    double r0 = all.sr;
    double r1 = all.sxr - tau * all.sr;
    double r2 = post.sxr - tau * post.sr;
    // M = [[n, su, sh], [su, suu, shh], [sh, shh, shh]] (symmetric).
    double n = all.n;
    double c00 = suu * shh - shh * shh;
    double c01 = -(su * shh - shh * sh);
    double c02 = su * shh - suu * sh;
    double det = n * c00 + su * c01 + sh * c02;
    if (!(Math.abs(det) > 1e-12 * Math.abs(n * suu * shh))) {
      return Double.POSITIVE_INFINITY;
    }
    double c11 = n * shh - sh * sh;
    double c12 = -(n * shh - su * sh);
    double c22 = n * suu - su * su;
    // coef = M⁻¹ r; RSS = Σy² − rᵀ M⁻¹ r.
    double quad =
        (c00 * r0 * r0 + c11 * r1 * r1 + c22 * r2 * r2)
            + 2 * (c01 * r0 * r1 + c02 * r0 * r2 + c12 * r1 * r2);
    return all.srr - quad / det;
  }

  /** Normal matrix of the hinge on columns 1, u = x − τ, h = (x − τ)₊ (h = u after the knot). */
  private static double[][] hingeMatrix(Sums all, Sums post, double tau) {
    double su = all.sx - all.n * tau;
    double suu = all.sxx - 2 * tau * all.sx + all.n * tau * tau;
    double sh = post.sx - post.n * tau;
    double shh = post.sxx - 2 * tau * post.sx + post.n * tau * tau;
    return new double[][] {{all.n, su, sh}, {su, suu, shh}, {sh, shh, shh}};
  }

  private static double[] hingeRhs(Sums all, Sums post, double tau, boolean rank) {
    double sy = rank ? all.sr : all.sa;
    double sxy = rank ? all.sxr : all.sxa;
    double py = rank ? post.sr : post.sa;
    double pxy = rank ? post.sxr : post.sxa;
    return new double[] {sy, sxy - tau * sy, pxy - tau * py};
  }

  private static Measure hingeMeasure(
      double[] coef, double[][] inv, double tau, double xEnd, double noise, long noiseDof) {
    double slope = coef[1] + coef[2];
    double scale = Math.sqrt(Math.max(0.0, inv[1][1] + 2 * inv[1][2] + inv[2][2]));
    double atEnd = coef[0] + slope * (xEnd - tau);
    return new Measure(slope, scale, coef[0], atEnd, atEnd - coef[0], noise, noiseDof);
  }

  private static Measure lineMeasure(
      double n,
      double sx,
      double sxx,
      double sy,
      double sxy,
      double x0,
      double xEnd,
      double noise,
      long noiseDof) {
    double mx = sx / n;
    double my = sy / n;
    double cxx = sxx - n * mx * mx;
    if (!(cxx > 0)) {
      return null;
    }
    double cxy = sxy - n * mx * my;
    double slope = cxy / cxx;
    double atOnset = my + slope * (x0 - mx);
    double atEnd = my + slope * (xEnd - mx);
    return new Measure(slope, 1 / Math.sqrt(cxx), atOnset, atEnd, atEnd - atOnset, noise, noiseDof);
  }

  private static double[][] invert3(double[][] m) {
    double a = m[0][0];
    double b = m[0][1];
    double c = m[0][2];
    double d = m[1][0];
    double e = m[1][1];
    double f = m[1][2];
    double g = m[2][0];
    double h = m[2][1];
    double i = m[2][2];
    double co00 = e * i - f * h;
    double co01 = -(d * i - f * g);
    double co02 = d * h - e * g;
    double det = a * co00 + b * co01 + c * co02;
    double scale = Math.abs(a) * Math.abs(e) * Math.abs(i);
    if (!(Math.abs(det) > 1e-12 * scale)) {
      return null;
    }
    double inv = 1 / det;
    return new double[][] {
      {co00 * inv, -(b * i - c * h) * inv, (b * f - c * e) * inv},
      {co01 * inv, (a * i - c * g) * inv, -(a * f - c * d) * inv},
      {co02 * inv, -(a * h - b * g) * inv, (a * e - b * d) * inv}
    };
  }

  private static double[] multiply(double[][] m, double[] v) {
    return new double[] {dot(m[0], v), dot(m[1], v), dot(m[2], v)};
  }

  private static double dot(double[] a, double[] b) {
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  }
}
