package io.phasewatch.collector.phase;

import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * The recent series of one segment on the x = ln(1 + step − origin) axis, binned so that memory is
 * bounded however dense the observations are, and the weighted least-squares trend over it.
 *
 * <p>Each bin keeps the count, the mean x and, per measure, the mean and the sum of squared
 * deviations (Welford's update, stable for long runs). The trend regresses the bin means on the bin
 * x with weights = counts, which for white probe noise is the minimum-variance linear fit; the
 * residual variance adds the within-bin scatter, so the slope's standard error has N − 2 degrees of
 * freedom (N = observations in the window).
 */
final class LogStepWindow {

  /** The trend of both measures over the current window. */
  record Trend(double rankTrend, double rankT, double alphaTrend, double alphaT) {}

  private static final class Bin {
    final long index;
    long n;
    double meanX;
    double meanR;
    double m2R;
    double meanA;
    double m2A;

    Bin(long index) {
      this.index = index;
    }

    void add(double x, double r, double a) {
      n++;
      meanX += (x - meanX) / n;
      double dr = r - meanR;
      meanR += dr / n;
      m2R += dr * (r - meanR);
      double da = a - meanA;
      meanA += da / n;
      m2A += da * (a - meanA);
    }
  }

  private final double binWidth;
  private final int binsPerWindow;
  private final int minPoints;
  private final int maxBins;
  private final ArrayDeque<Bin> bins = new ArrayDeque<>();

  LogStepWindow(double windowLogSteps, int binsPerWindow, int minPoints) {
    this.binWidth = windowLogSteps / binsPerWindow;
    this.binsPerWindow = binsPerWindow;
    this.minPoints = minPoints;
    // Each bin holds at least one observation, so minPoints extra bins always suffice to reach
    // back for minPoints observations.
    this.maxBins = binsPerWindow + minPoints;
  }

  void add(double x, double rank, double alpha) {
    long index = (long) Math.floor(x / binWidth);
    Bin last = bins.peekLast();
    if (last == null || last.index != index) {
      last = new Bin(index);
      bins.addLast(last);
      if (bins.size() > maxBins) {
        bins.removeFirst();
      }
    }
    last.add(x, rank, alpha);
  }

  /** The trend over the current window, or null while there are too few observations for one. */
  Trend trend() {
    Bin newest = bins.peekLast();
    if (newest == null) {
      return null;
    }
    long firstIndex = newest.index - binsPerWindow + 1;
    int used = 0;
    long points = 0;
    Iterator<Bin> it = bins.descendingIterator();
    while (it.hasNext()) {
      Bin b = it.next();
      if (b.index < firstIndex && points >= minPoints && used >= 3) {
        break;
      }
      used++;
      points += b.n;
    }
    if (points < minPoints || used < 3) {
      return null;
    }
    double sw = 0;
    double sx = 0;
    double sr = 0;
    double sa = 0;
    it = bins.descendingIterator();
    for (int i = 0; i < used; i++) {
      Bin b = it.next();
      sw += b.n;
      sx += b.n * b.meanX;
      sr += b.n * b.meanR;
      sa += b.n * b.meanA;
    }
    double mx = sx / sw;
    double mr = sr / sw;
    double ma = sa / sw;
    double sxx = 0;
    double sxr = 0;
    double sxa = 0;
    it = bins.descendingIterator();
    for (int i = 0; i < used; i++) {
      Bin b = it.next();
      double dx = b.meanX - mx;
      sxx += b.n * dx * dx;
      sxr += b.n * dx * (b.meanR - mr);
      sxa += b.n * dx * (b.meanA - ma);
    }
    if (!(sxx > 0)) {
      return null;
    }
    double slopeR = sxr / sxx;
    double slopeA = sxa / sxx;
    double ssR = 0;
    double ssA = 0;
    it = bins.descendingIterator();
    for (int i = 0; i < used; i++) {
      Bin b = it.next();
      double dx = b.meanX - mx;
      double er = b.meanR - mr - slopeR * dx;
      double ea = b.meanA - ma - slopeA * dx;
      ssR += b.n * er * er + b.m2R;
      ssA += b.n * ea * ea + b.m2A;
    }
    double dof = points - 2;
    return new Trend(
        relative(slopeR, mr),
        tStatistic(slopeR, ssR / dof, sxx),
        relative(slopeA, ma),
        tStatistic(slopeA, ssA / dof, sxx));
  }

  void clear() {
    bins.clear();
  }

  private static double relative(double slope, double level) {
    double abs = Math.abs(level);
    return abs > 0 ? slope / abs : 0.0;
  }

  private static double tStatistic(double slope, double residualVariance, double sxx) {
    double se = Math.sqrt(residualVariance / sxx);
    if (se > 0) {
      return slope / se;
    }
    // A noiseless series: the slope is exact, so any non-zero slope is significant.
    return slope == 0 ? 0.0 : Math.copySign(Double.MAX_VALUE, slope);
  }
}
