package io.phasewatch.collector.spectrum;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.core.sketch.RowSample;
import io.phasewatch.core.sketch.RowSampleSnapshot;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** A row sample's spectrum is the exact summary's spectrum of the same rows, on both solvers. */
class SampleSpectrumTest {

  @ParameterizedTest(name = "n={0}, d={1}, native={2}")
  @CsvSource({
    "40, 96, true",
    "40, 96, false",
    "300, 64, true",
    "300, 64, false",
    "1, 8, true",
    "2, 5, false"
  })
  void theSpectrumOfTheRowsIsTheExactSpectrumOfThoseRows(int n, int d, boolean nativeSolver) {
    float[] rows = new PowerLawRows(d, 1.0, 17L * n + d).next(n);
    RowSample sample = RowSample.withCapacity(n, d);
    sample.update(rows, n);
    RowSampleSnapshot snapshot = sample.snapshot();
    ExactSummary exact = ExactSummary.ofDimension(d);
    exact.update(rows, n);

    Spectrum got = Spectrum.ofSample(snapshot, nativeSolver && Lapack.available());
    Spectrum want = Spectrum.of(exact.snapshot());

    assertThat(got.kind()).isEqualTo(Spectrum.Kind.SAMPLE);
    assertThat(got.count()).isEqualTo(n);
    assertThat(got.size()).isEqualTo(Math.min(n, d));
    double tol = 1e-10 * Math.max(want.eigenvalue(0), 1e-300);
    for (int i = 0; i < d; i++) {
      assertThat(got.eigenvalue(i)).as("λ_%d", i + 1).isCloseTo(want.eigenvalue(i), within(tol));
    }
    assertThat(got.totalVariance())
        .isCloseTo(want.totalVariance(), within(1e-12 * Math.max(want.totalVariance(), 1)));
  }
}
