package io.phasewatch.collector.spectrum;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.phasewatch.core.sketch.SymmetricEigen;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The native LAPACK route against the independent pure-Java solver, on the same matrices. */
class LapackTest {

  @Test
  void theNativeLibraryLoadsOnLinuxX86_64() {
    boolean bundled =
        System.getProperty("os.name").toLowerCase().contains("linux")
            && System.getProperty("os.arch").matches("amd64|x86_64");
    // The build ships the linux-x86_64 native jar; elsewhere the fallback is the expected state.
    assertThat(Lapack.available()).isEqualTo(bundled);
  }

  @ParameterizedTest
  @CsvSource({"1", "2", "3", "57", "300"})
  void symmetricEigenvaluesAgreeWithThePureJavaSolver(int n) {
    Random random = new Random(n);
    double[] a = new double[n * n];
    for (int i = 0; i < n; i++) {
      for (int j = i; j < n; j++) {
        a[i * n + j] = random.nextGaussian();
        a[j * n + i] = i == j ? a[i * n + j] : -7.0; // only the upper triangle may be read
      }
    }
    double[] before = a.clone();
    double[] lapack = Lapack.symmetricEigenvalues(a, n);
    double[] java = SymmetricEigen.values(a, n);

    assertThat(a).isEqualTo(before);
    double scale = Math.max(Math.abs(java[0]), Math.abs(java[n - 1]));
    assertThat(lapack).hasSize(n);
    for (int i = 0; i < n; i++) {
      assertThat(lapack[i]).isCloseTo(java[i], within(1e-11 * scale));
    }
  }

  @ParameterizedTest
  @CsvSource({"5, 40", "65, 512", "12, 4", "1, 9"})
  void weightedGramEigenvaluesAgreeWithThePureJavaSolver(int rows, int cols) {
    Random random = new Random(31L * rows + cols);
    double[] x = new double[rows * cols];
    for (int i = 0; i < x.length; i++) {
      x[i] = random.nextGaussian() * (1 + i % 7);
    }
    double[] w = new double[rows];
    for (int i = 0; i < rows; i++) {
      w[i] = i % 4 == 3 ? -0.25 : 1.0 / (i + 1); // indefinite, as the mean term makes it
    }
    double[] before = x.clone();
    double[] lapack = Lapack.weightedGramEigenvalues(x, rows, cols, w);
    double[] java = SymmetricEigen.valuesOfWeightedGram(x, rows, cols, w);

    assertThat(x).isEqualTo(before);
    assertThat(lapack).hasSize(Math.min(rows, cols));
    double scale = Math.max(Math.abs(java[0]), Math.abs(java[java.length - 1]));
    for (int i = 0; i < lapack.length; i++) {
      assertThat(lapack[i]).isCloseTo(java[i], within(1e-9 * scale));
    }
  }
}
