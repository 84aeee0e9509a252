package io.phasewatch.collector.spectrum;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class SpectralMeasuresTest {

  @ParameterizedTest
  @ValueSource(strings = {"n_gt_d", "n_lt_d", "big_mean", "rank_deficient", "power_law_4_100"})
  void exactSpectrumMatchesNumpy(String name) {
    double[][] z = Fixtures.readF8(name);
    JsonObject want = Fixtures.expected(name);
    Spectrum s = Spectrum.of(Fixtures.exact(z));
    double[] wantEig = Fixtures.doubles(want.getJsonArray("eigenvalues"));
    double[] eig = s.eigenvalues();
    assertThat(s.kind()).isEqualTo(Spectrum.Kind.EXACT);
    assertThat(eig).hasSize(wantEig.length);
    for (int i = 0; i < eig.length; i++) {
      assertThat(eig[i]).as("λ_%d", i + 1).isCloseTo(wantEig[i], within(1e-10 * wantEig[0]));
    }
    assertThat(s.totalVariance())
        .isCloseTo(want.getDouble("total_variance_trace"), within(1e-10 * s.totalVariance()));
    assertThat(s.droppedVariance()).isZero();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"n_gt_d", "n_lt_d", "big_mean", "rank_deficient", "power_law_4_100", "tiny"})
  void measuresOfExactSnapshotMatchNumpy(String name) {
    double[][] z = Fixtures.readF8(name);
    JsonObject want = Fixtures.expected(name);
    FitRange range =
        new FitRange(want.getInteger("requested_first"), want.getInteger("requested_last"));
    SpectralMeasures m = SpectralMeasures.of(Spectrum.of(Fixtures.exact(z)), range);
    assertMatches(m, want);
    assertThat(m.effectiveRankLow()).isEqualTo(m.effectiveRank());
    assertThat(m.effectiveRankHigh()).isEqualTo(m.effectiveRank());
    assertThat(m.effectiveRankErrorBound()).isZero();
  }

  @ParameterizedTest
  @ValueSource(strings = {"spectrum_power_0_8", "spectrum_power_1_0", "spectrum_power_1_5"})
  void measuresOfAGivenSpectrumMatchNumpy(String name) {
    JsonObject want = Fixtures.expected(name);
    Spectrum s =
        Spectrum.ofEigenvalues(
            Fixtures.doubles(want.getJsonArray("eigenvalues")), want.getLong("n"));
    assertMatches(SpectralMeasures.of(s), want);
  }

  @ParameterizedTest
  @CsvSource({"0.8", "1.0", "1.5", "0.3", "2.7"})
  void powerLawSpectrumGivesItsExponentBack(double a) {
    double[] lam = new double[500];
    for (int i = 0; i < lam.length; i++) {
      lam[i] = Math.pow(i + 1, -a);
    }
    SpectralMeasures m = SpectralMeasures.of(Spectrum.ofEigenvalues(lam, 10_000));
    assertThat(m.alpha()).isCloseTo(a, within(1e-9));
    assertThat(m.alphaR2()).isCloseTo(1.0, within(1e-12));
    assertThat(m.fitRange()).isEqualTo(FitRange.STUDY);
    assertThat(m.fallbackWindow()).isFalse();
    SpectralMeasures other =
        SpectralMeasures.of(Spectrum.ofEigenvalues(lam, 10_000), new FitRange(4, 100));
    assertThat(other.alpha()).isCloseTo(a, within(1e-9));
  }

  @Test
  void alphaIsScaleInvariant() {
    double[] lam = new double[200];
    double[] scaled = new double[200];
    for (int i = 0; i < lam.length; i++) {
      lam[i] = Math.pow(i + 1, -1.2) * (1 + 0.1 * Math.sin(i));
      scaled[i] = 1e6 * lam[i];
    }
    SpectralMeasures a = SpectralMeasures.of(Spectrum.ofEigenvalues(lam, 1000));
    SpectralMeasures b = SpectralMeasures.of(Spectrum.ofEigenvalues(scaled, 1000));
    assertThat(b.alpha()).isCloseTo(a.alpha(), within(1e-12));
    assertThat(b.effectiveRank()).isCloseTo(a.effectiveRank(), within(1e-9));
  }

  @Test
  void tooFewDimensionsUseTheFallbackWindowAndSaySo() {
    double[] lam = new double[64];
    for (int i = 0; i < lam.length; i++) {
      lam[i] = Math.pow(i + 1, -1.1);
    }
    SpectralMeasures m = SpectralMeasures.of(Spectrum.ofEigenvalues(lam, 1000));
    assertThat(m.fallbackWindow()).isTrue();
    assertThat(m.fitRange()).isEqualTo(new FitRange(2, 50));
    assertThat(m.alphaNote()).contains("12:100").contains("2:50");
    assertThat(m.alpha()).isCloseTo(1.1, within(1e-9));
  }

  @Test
  void noWindowAtAllGivesNaNWithAReason() {
    SpectralMeasures m = SpectralMeasures.of(Spectrum.ofEigenvalues(new double[] {3, 2, 1}, 100));
    assertThat(m.alpha()).isNaN();
    assertThat(m.alphaR2()).isNaN();
    assertThat(m.fitRange()).isNull();
    assertThat(m.alphaNote()).startsWith("no fit");
  }

  @Test
  void zeroEigenvaluesBeyondTheRankAreNotFitted() {
    double[] lam = new double[300];
    for (int i = 0; i < 30; i++) {
      lam[i] = Math.pow(i + 1, -1.0);
    }
    SpectralMeasures m = SpectralMeasures.of(Spectrum.ofEigenvalues(lam, 1000));
    assertThat(m.fitRange()).isEqualTo(new FitRange(2, 30));
    assertThat(m.alpha()).isCloseTo(1.0, within(1e-9));
  }

  @Test
  void fitRangeParsesAndRejectsNonsense() {
    assertThat(FitRange.parse(" 4:100 ")).isEqualTo(new FitRange(4, 100));
    assertThatThrownBy(() -> FitRange.parse("100:12")).hasMessageContaining("100:12");
    assertThatThrownBy(() -> FitRange.parse("0:10")).hasMessageContaining("first");
    assertThatThrownBy(() -> FitRange.parse("5:6")).hasMessageContaining("5:6");
    assertThatThrownBy(() -> FitRange.parse("a:b")).hasMessageContaining("a:b");
    assertThatThrownBy(() -> FitRange.parse("12")).hasMessageContaining("FIRST:LAST");
  }

  private static void assertMatches(SpectralMeasures m, JsonObject want) {
    assertThat(m.count()).isEqualTo(want.getLong("n"));
    assertThat(m.dimension()).isEqualTo(want.getInteger("d"));
    assertThat(m.effectiveRank())
        .isCloseTo(
            want.getDouble("effective_rank"), within(1e-9 * want.getDouble("effective_rank")));
    assertThat(m.participationRatio())
        .isCloseTo(
            want.getDouble("participation_ratio"),
            within(1e-9 * want.getDouble("participation_ratio")));
    assertThat(m.top1Share()).isCloseTo(want.getDouble("top1_share"), within(1e-10));
    assertThat(m.top10Share()).isCloseTo(want.getDouble("top10_share"), within(1e-10));
    assertThat(m.totalVariance())
        .isCloseTo(
            want.getDouble("total_variance"), within(1e-10 * want.getDouble("total_variance")));
    assertThat(m.fallbackWindow()).isEqualTo(want.getBoolean("fallback"));
    if (want.getValue("alpha") == null) {
      assertThat(m.alpha()).isNaN();
      assertThat(m.fitRange()).isNull();
    } else {
      assertThat(m.fitRange())
          .isEqualTo(new FitRange(want.getInteger("fit_first"), want.getInteger("fit_last")));
      assertThat(m.alpha()).isCloseTo(want.getDouble("alpha"), within(1e-8));
      assertThat(m.alphaR2()).isCloseTo(want.getDouble("alpha_r2"), within(1e-8));
    }
  }
}
