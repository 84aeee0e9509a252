package io.phasewatch.core.sketch;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

class DenseKernelsTest {

  /** Shapes straddle the KB = 128 and JB = 256 panel edges and the 4-way unrolled k loop. */
  @Property(tries = 40)
  void blockedProductEqualsTextbookTripleLoop(
      @ForAll long seed,
      @ForAll @IntRange(min = 1, max = 300) int m,
      @ForAll @IntRange(min = 1, max = 600) int n,
      @ForAll @IntRange(min = 1, max = 300) int p,
      @ForAll boolean transposedA,
      @ForAll boolean upperOnly) {
    int mm = upperOnly ? n : m; // symmetric results are square
    Random rng = new Random(seed);
    double[] a = Matrices.gaussian(rng, mm * p + 3);
    double[] b = Matrices.gaussian(rng, p * (n + 2) + 1);
    double[] c = Matrices.gaussian(rng, mm * (n + 1) + 2);
    double[] expected = c.clone();
    int ars = transposedA ? 1 : p;
    int acs = transposedA ? mm : 1;
    for (int i = 0; i < mm; i++) {
      for (int j = upperOnly ? i : 0; j < n; j++) {
        double s = 0;
        for (int k = 0; k < p; k++) {
          s += a[3 + i * ars + k * acs] * b[1 + k * (n + 2) + j];
        }
        expected[2 + i * (n + 1) + j] += s;
      }
    }
    DenseKernels.multAdd(a, 3, ars, acs, b, 1, n + 2, c, 2, n + 1, mm, n, p, upperOnly);
    for (int i = 0; i < mm; i++) {
      for (int j = upperOnly ? i : 0; j < n; j++) {
        int at = 2 + i * (n + 1) + j;
        assertThat(Math.abs(c[at] - expected[at])).as("C[%d][%d]", i, j).isLessThan(1e-10 * p);
      }
    }
  }
}
