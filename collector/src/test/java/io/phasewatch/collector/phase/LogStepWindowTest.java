package io.phasewatch.collector.phase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

class LogStepWindowTest {

  private static final double[] TURN = StudentT.criticalValues(3.0);

  private static LogStepWindow window() {
    return new LogStepWindow(0.04, 4.0, 4, 0.01, 6, 1.0);
  }

  @Test
  void noRegimeExistsBeforeMinPointsObservations() {
    LogStepWindow w = window();
    for (int i = 1; i < 4; i++) {
      w.add(Math.log1p(10L * i), 10L * i, 10, 1);
      assertThat(w.regime(0, TURN)).isNull();
    }
    w.add(Math.log1p(40), 40, 10, 1);
    assertThat(w.regime(0, TURN)).isNotNull();
  }

  @Test
  void aLineOnTheLogAxisIsOneRegimeWithItsSlope() {
    // RankMe = 20 + 3x and α = 2 − 0.1x, every step from 1,000 to 5,000: no turn.
    LogStepWindow w = window();
    for (long step = 1_000; step <= 5_000; step++) {
      double x = Math.log1p(step);
      w.add(x, step, 20 + 3 * x, 2 - 0.1 * x);
    }
    LogStepWindow.Regime r = w.regime(0, TURN);
    assertThat(r.knotted()).isFalse();
    assertThat(r.onsetStep()).isEqualTo(1_000);
    // The running median of three passes a monotone series one observation late: the slope is
    // the line's to within that shift.
    assertThat(r.rank().slope()).isCloseTo(3.0, within(0.01));
    assertThat(r.alpha().slope()).isCloseTo(-0.1, within(0.001));
    assertThat(r.rank().change())
        .isCloseTo(3 * (Math.log1p(5_000) - Math.log1p(1_000)), within(0.01));
    // A noiseless series: the noise is the floor (0.01, absolute for the first measure).
    assertThat(r.rank().noise()).isCloseTo(0.01, within(1e-9));
  }

  @Test
  void afterAVTheRegimeIsTheRiseFromTheBottom() {
    // Falls as 40 − 10(x − x0) to step 300, then rises at +8 per unit of x; probe noise 0.35.
    LogStepWindow w = window();
    Random random = new Random(3);
    double xTurn = Math.log1p(300);
    for (long step = 100; step <= 900; step += 10) {
      double x = Math.log1p(step);
      double rank = x <= xTurn ? 40 - 10 * (x - Math.log1p(100)) : 29.0 + 8 * (x - xTurn);
      w.add(x, step, rank + 0.35 * random.nextGaussian(), 2);
    }
    LogStepWindow.Regime r = w.regime(0, TURN);
    assertThat(r.knotted()).isTrue();
    // The bottom is placed within one bin (4 % of the step) of step 300.
    assertThat(Math.abs(Math.log1p(r.onsetStep()) - xTurn)).isLessThanOrEqualTo(0.08);
    assertThat(r.rank().slope()).isCloseTo(8.0, within(1.0));
    // The noise is measured from second differences: the turn does not inflate it.
    assertThat(r.rank().noise()).isCloseTo(0.35, within(0.12));
  }

  @Test
  void aConstantSeriesHasNoTrend() {
    LogStepWindow w = window();
    for (long step = 0; step <= 2_000; step += 10) {
      w.add(Math.log1p(step), step, 12.5, 1.5);
    }
    LogStepWindow.Regime r = w.regime(0, TURN);
    assertThat(r.rank().slope()).isCloseTo(0.0, within(1e-9));
    assertThat(r.alpha().slope()).isCloseTo(0.0, within(1e-9));
  }

  @Test
  void theRegimeStartsNoEarlierThanTheAnchor() {
    LogStepWindow w = window();
    for (long step = 10; step <= 2_000; step += 10) {
      w.add(Math.log1p(step), step, 20, 1.5);
    }
    LogStepWindow.Regime r = w.regime(Math.log1p(1_000), TURN);
    // Bins are 0.04 wide on ln(step): the regime starts in the anchor's bin, within 4 % of it.
    assertThat(r.onsetStep()).isBetween(960L, 1_000L);
  }

  @Test
  void studentCriticalValuesMatchTablesAndApproachTheNormal() {
    // Quantiles at the normal's upper tail beyond 3.0 (0.00135), by Simpson integration of the t
    // density outside this code: t_10 = 3.957, t_30 = 3.270.
    double[] t = StudentT.criticalValues(3.0);
    assertThat(t[10]).isCloseTo(3.957, within(0.01));
    assertThat(t[30]).isCloseTo(3.270, within(0.01));
    // Beyond the table the last (larger, so stricter) value holds; no degrees of freedom, no test.
    assertThat(StudentT.lookup(t, 100_000)).isEqualTo(t[StudentT.MAX_TABULATED_DOF]);
    assertThat(StudentT.lookup(t, 0)).isEqualTo(Double.POSITIVE_INFINITY);
  }
}
