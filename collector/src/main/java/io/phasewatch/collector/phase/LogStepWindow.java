package io.phasewatch.collector.phase;

import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * The recent series of one segment on the x = ln(1 + step − origin) axis, binned so that memory is
 * bounded however dense the observations are, and the least-squares trend over it.
 *
 * <p>Each bin keeps its count, means and centred second moments and co-moments (Welford's update,
 * numerically stable for long runs). Pooling them (Chan, Golub and LeVeque's parallel formulas)
 * gives the same slope and residual sum of squares as an ordinary least-squares fit to every
 * observation in the window, so binning loses nothing but the choice of where the window starts.
 * The slope's standard error has N − 2 degrees of freedom (N = observations in the window).
 */
final class LogStepWindow {

  /** The trend of both measures over the current window. */
  record Trend(double rankTrend, double rankT, double alphaTrend, double alphaT) {}

  private static final class Bin {
    final long index;
    long n;
    double meanX;
    double m2X;
    double meanR;
    double m2R;
    double cXR;
    double meanA;
    double m2A;
    double cXA;

    Bin(long index) {
      this.index = index;
    }

    void add(double x, double r, double a) {
      n++;
      double dx = x - meanX;
      meanX += dx / n;
      double dxNew = x - meanX;
      m2X += dx * dxNew;
      double dr = r - meanR;
      meanR += dr / n;
      m2R += dr * (r - meanR);
      cXR += dx * (r - meanR);
      double da = a - meanA;
      meanA += da / n;
      m2A += da * (a - meanA);
      cXA += dx * (a - meanA);
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
    double srr = 0;
    double saa = 0;
    it = bins.descendingIterator();
    for (int i = 0; i < used; i++) {
      Bin b = it.next();
      double dx = b.meanX - mx;
      double dr = b.meanR - mr;
      double da = b.meanA - ma;
      sxx += b.n * dx * dx + b.m2X;
      sxr += b.n * dx * dr + b.cXR;
      sxa += b.n * dx * da + b.cXA;
      srr += b.n * dr * dr + b.m2R;
      saa += b.n * da * da + b.m2A;
    }
    if (!(sxx > 0)) {
      return null;
    }
    double slopeR = sxr / sxx;
    double slopeA = sxa / sxx;
    double ssR = Math.max(0.0, srr - slopeR * sxr);
    double ssA = Math.max(0.0, saa - slopeA * sxa);
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
