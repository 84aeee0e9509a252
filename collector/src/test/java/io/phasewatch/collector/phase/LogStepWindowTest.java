package io.phasewatch.collector.phase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class LogStepWindowTest {

  @Test
  void noTrendExistsBeforeMinPointsObservations() {
    LogStepWindow w = new LogStepWindow(0.7, 16, 8);
    for (int i = 1; i < 8; i++) {
      w.add(Math.log1p(10L * i), 10, 1);
      assertThat(w.trend()).isNull();
    }
    w.add(Math.log1p(80), 10, 1);
    assertThat(w.trend()).isNotNull();
  }

  @Test
  void aLineOnTheLogAxisGivesItsSlopeOverTheWindowMean() {
    // RankMe = 20 + 3x and α = 2 − 0.1x, sampled every step from 1,000 to 5,000: dense, so the
    // window is exactly the last W of x, and binning keeps a line a line.
    LogStepWindow w = new LogStepWindow(0.7, 16, 8);
    double lastX = 0;
    for (long step = 1_000; step <= 5_000; step++) {
      lastX = Math.log1p(step);
      w.add(lastX, 20 + 3 * lastX, 2 - 0.1 * lastX);
    }
    LogStepWindow.Trend t = w.trend();
    // The window covers bins from lastX − W (to within one bin) to lastX; its weighted mean of x
    // lies inside it, so the level is between the line's values at the two ends.
    double binWidth = 0.7 / 16;
    double hi = 20 + 3 * lastX;
    double lo = 20 + 3 * (lastX - 0.7 - binWidth);
    assertThat(t.rankTrend()).isBetween(3 / hi, 3 / lo);
    double alphaAtEnd = 2 - 0.1 * lastX;
    double alphaAtStart = 2 - 0.1 * (lastX - 0.7 - binWidth);
    assertThat(t.alphaTrend()).isBetween(-0.1 / alphaAtEnd, -0.1 / alphaAtStart);
    assertThat(t.rankT()).isGreaterThan(1e4);
    assertThat(t.alphaT()).isLessThan(-1e4);
  }

  @Test
  void aConstantSeriesHasNoTrend() {
    LogStepWindow w = new LogStepWindow(0.7, 16, 8);
    for (long step = 0; step <= 2_000; step += 10) {
      w.add(Math.log1p(step), 12.5, 1.5);
    }
    LogStepWindow.Trend t = w.trend();
    assertThat(t.rankTrend()).isCloseTo(0.0, within(1e-12));
    assertThat(t.alphaTrend()).isCloseTo(0.0, within(1e-12));
  }
}
