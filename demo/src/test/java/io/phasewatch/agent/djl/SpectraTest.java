package io.phasewatch.agent.djl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The experiment's measures must be right before its numbers mean anything. */
class SpectraTest {

  @Test
  void alphaOfAnExactPowerLawIsItsExponent() {
    double[] ev = new double[128];
    for (int i = 0; i < ev.length; i++) {
      ev[i] = Math.pow(i + 1, -1.7);
    }
    double[] fit = Spectra.alpha(ev, 12, 100);
    assertThat(fit[0]).isCloseTo(1.7, within(1e-9));
    assertThat(fit[1]).isCloseTo(1.0, within(1e-9));
  }

  @Test
  void rankMeOfAFlatSpectrumIsItsDimension() {
    double[] ev = new double[64];
    java.util.Arrays.fill(ev, 3.0);
    // p_i = 1/64 + 1e-7 shifts the entropy by O(1e-5).
    assertThat(Spectra.rankMe(ev)).isCloseTo(64, within(0.01));
  }

  @Test
  void covarianceEigenvaluesRecoverAKnownDiagonalCovariance() {
    // Rows with independent coordinates of standard deviation 1..4 (in that order): eigenvalues
    // 16, 9, 4, 1 up to sampling error.
    Random rng = new Random(1);
    int n = 20_000;
    int d = 4;
    float[] rows = new float[n * d];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < d; j++) {
        rows[i * d + j] = (float) ((j + 1) * rng.nextGaussian() + 5);
      }
    }
    double[] ev = Spectra.covarianceEigenvalues(rows, n, d);
    assertThat(ev[0]).isCloseTo(16, within(0.6));
    assertThat(ev[1]).isCloseTo(9, within(0.35));
    assertThat(ev[2]).isCloseTo(4, within(0.15));
    assertThat(ev[3]).isCloseTo(1, within(0.05));
  }
}
