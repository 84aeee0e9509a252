package io.phasewatch.core.sketch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.phasewatch.core.sketch.Matrices.Kind;
import java.util.Arrays;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class Float32MomentTest {

  /** float32's unit roundoff. */
  private static final double U = 0x1p-24;

  @Property(tries = 60)
  void equalsTheTwoPassFormulaWithinOneFloatRoundingPerFold(
      @ForAll Kind kind,
      @ForAll long seed,
      @ForAll @IntRange(min = 1, max = 40) int d,
      @ForAll @IntRange(min = 0, max = 600) int n) {
    float[] rows = Matrices.withOffset(Matrices.rows(kind, seed, n, d), d, seed, 100);
    Float32Moment batched = Float32Moment.ofDimension(d);
    batched.update(rows, n);
    Float32Moment single = Float32Moment.ofDimension(d);
    for (int i = 0; i < n; i++) {
      single.update(Arrays.copyOfRange(rows, i * d, (i + 1) * d));
    }
    double[][] reference = Matrices.twoPass(rows, n, d);
    assertClose(batched.snapshot(), n, reference);
    assertClose(single.snapshot(), n, reference);
    // Staging across calls: the fold boundaries depend on the rows only.
    assertThat(single.snapshot()).isEqualTo(batched.snapshot());
  }

  @Property(tries = 40)
  void mergeOfAnySplitEqualsTheWholeAndJoinsExactSummaries(
      @ForAll long seed,
      @ForAll @IntRange(min = 1, max = 30) int d,
      @ForAll @IntRange(min = 0, max = 400) int n,
      @ForAll @IntRange(min = 2, max = 6) int parts) {
    float[] rows = Matrices.withOffset(Matrices.rows(Kind.GAUSSIAN, seed, n, d), d, seed, 100);
    Random rng = new Random(seed);
    CovarianceSnapshot merged = null;
    int start = 0;
    for (int p = 0; p < parts; p++) {
      int end = p == parts - 1 ? n : start + rng.nextInt(n - start + 1);
      float[] part = Arrays.copyOfRange(rows, start * d, end * d);
      CovarianceSketch sketch =
          rng.nextInt(3) == 0 ? ExactSummary.ofDimension(d) : Float32Moment.ofDimension(d);
      sketch.update(part, end - start);
      CovarianceSnapshot s = sketch.snapshot();
      merged =
          merged == null
              ? s
              : rng.nextBoolean() ? Snapshots.merge(merged, s) : Snapshots.merge(s, merged);
      start = end;
    }
    ExactSnapshot whole =
        merged instanceof Float32MomentSnapshot f ? f.widened() : (ExactSnapshot) merged;
    assertClose(whole, n, Matrices.twoPass(rows, n, d), 4);
  }

  @Test
  void aMeanTenThousandTimesTheSpreadCostsNoDigits() {
    // Uncentred float32 sums would lose everything here: x² ≈ 1e8·σ², and float32 holds 7 digits.
    int d = 64;
    int n = 5 * Float32Moment.BATCH_ROWS + 17;
    float[] rows = Matrices.withOffset(Matrices.rows(Kind.POWER_LAW, 5, n, d), d, 5, 1e4);
    Float32Moment s = Float32Moment.ofDimension(d);
    s.update(rows, n);
    assertClose(s.snapshot(), n, Matrices.twoPass(rows, n, d));
  }

  @Test
  void float64RowsAreCentredBeforeTheyAreNarrowed() {
    // A spread of 1e-9 around 1.0: below float32's resolution of the mean (6e-8), kept exactly by
    // the double path because rows are shifted in double before they are stored as float32.
    int d = 3;
    int n = 300;
    Random rng = new Random(3);
    double[] rows = new double[n * d];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = 1.0 + 1e-9 * rng.nextGaussian();
    }
    Float32Moment f = Float32Moment.ofDimension(d);
    f.update(rows, n);
    ExactSummary e = ExactSummary.ofDimension(d);
    e.update(rows, n);
    double[] exact = e.snapshot().comoment();
    double[] got = f.snapshot().widened().comoment();
    for (int i = 0; i < d * d; i++) {
      assertThat(got[i])
          .isCloseTo(exact[i], org.assertj.core.data.Offset.offset(1e-4 * Math.abs(exact[0])));
    }
    assertThat(exact[0]).isGreaterThan(0.5 * n * 1e-18);
  }

  @Test
  void handComputedCoMomentOfThreeRows() {
    // rows (0,0), (2,0), (4,6): mean (2,2); centred (−2,−2), (0,−2), (2,4).
    Float32Moment s = Float32Moment.ofDimension(2);
    s.update(new float[] {0, 0, 2, 0, 4, 6}, 3);
    Float32MomentSnapshot snap = s.snapshot();
    assertThat(snap.mean()).containsExactly(2, 2);
    assertThat(snap.upper()).containsExactly(8, 12, 24);
    assertThat(snap.widened().comoment()).containsExactly(8, 12, 12, 24);
  }

  @Test
  void nonFiniteRowsAreCountedAndResetForgetsEverything() {
    Float32Moment s = Float32Moment.ofDimension(2);
    s.update(new float[] {1, 2, Float.NaN, 0, 3, 5}, 3);
    s.update(new double[] {0, Double.POSITIVE_INFINITY}, 1);
    s.update(new float[] {Float.NEGATIVE_INFINITY, 0});
    Float32MomentSnapshot snap = s.snapshot();
    assertThat(snap.count()).isEqualTo(2);
    assertThat(snap.nonFiniteRows()).isEqualTo(3);
    assertThat(snap.upper()).containsExactly(2, 3, 4.5f);
    s.reset();
    snap = s.snapshot();
    assertThat(snap.count()).isZero();
    assertThat(snap.nonFiniteRows()).isZero();
    assertThat(snap.mean()).containsOnly(0.0);
    assertThat(snap.upper()).containsOnly(0f);
    // After a reset the next row is the new shift: no trace of the old window's mean.
    s.update(new float[] {7, 7, 9, 9}, 2);
    assertThat(s.snapshot().mean()).containsExactly(8, 8);
    assertThat(s.snapshot().upper()).containsExactly(2, 2, 2);
  }

  @Test
  void valuesBeyondTheFloat32RangeOfTheTriangleAreLeftOutLikeNonFiniteOnes() {
    // 1e20 is a finite float, but its square would overflow the float32 triangle: the row is
    // counted and left out, and the window goes on (an exploding step does not fail the layer).
    Float32Moment s = Float32Moment.ofDimension(2);
    s.update(new float[] {1, 2, 1e20f, 0, 3, 5}, 3);
    s.update(new double[] {-1e15, 0, 2, 3.5}, 2);
    Float32MomentSnapshot snap = s.snapshot();
    assertThat(snap.count()).isEqualTo(3);
    assertThat(snap.nonFiniteRows()).isEqualTo(2);
    assertThat(snap.mean()).containsExactly(2, 3.5);
    assertThat(snap.upper()).containsExactly(2, 3, 4.5f);
  }

  @Test
  void factoryAndRecordRejectBadInputByName() {
    assertThatThrownBy(() -> Float32Moment.ofDimension(0)).hasMessageContaining("d=0");
    assertThatThrownBy(() -> Float32Moment.ofDimension(Float32Moment.MAX_DIMENSION + 1))
        .hasMessageContaining(String.valueOf(Float32Moment.MAX_DIMENSION));
    assertThatThrownBy(() -> Float32Moment.ofDimension(3).update(new float[4], 2))
        .hasMessageContaining("rowCount·d = 6");
    assertThatThrownBy(() -> new Float32MomentSnapshot(1, new double[3], new float[5], 0))
        .hasMessageContaining("d(d+1)/2 = 6");
    assertThatThrownBy(
            () -> new Float32MomentSnapshot(1, new double[2], new float[] {0, Float.NaN, 0}, 0))
        .hasMessageContaining("(0,1)");
    assertThatThrownBy(
            () ->
                Snapshots.merge(
                    Float32Moment.ofDimension(3).snapshot(),
                    RowSample.withCapacity(2, 3).snapshot()))
        .hasMessageContaining("exact32(d=3)");
  }

  @Test
  void theDefaultRouteUsesItUpToTheWidestMultipleOf64ThatFits16MiB() {
    assertThat(DefaultSummary.forLayer(1024, 8)).isInstanceOf(ExactSummary.class);
    assertThat(DefaultSummary.forLayer(1025, 8)).isInstanceOf(Float32Moment.class);
    assertThat(DefaultSummary.forLayer(2048, 8)).isInstanceOf(Float32Moment.class);
    int max = DefaultSummary.FLOAT32_MAX_DIMENSION;
    assertThat(DefaultSummary.forLayer(max, 8)).isInstanceOf(Float32Moment.class);
    assertThat(DefaultSummary.forLayer(max + 1, 8)).isInstanceOf(RowSample.class);
    long budget = 16L << 20;
    assertThat(max % 64).isZero();
    assertThat(Float32Moment.bytesHeld(max)).isLessThanOrEqualTo(budget);
    assertThat(Float32Moment.bytesHeld(max + 64)).isGreaterThan(budget);
    // The arrays it holds: the triangle, the staging rows, the panel and the vectors.
    assertThat(Float32Moment.bytesHeld(2048))
        .isEqualTo(4L * 2048 * 2049 / 2 + 4L * 128 * 2048 + 8L * 128 * 256 + 8L * 256 + 24L * 2048);
  }

  private static void assertClose(Float32MomentSnapshot s, int n, double[][] reference) {
    assertClose(s.widened(), n, reference, 1);
  }

  /**
   * Mean to 1e-12 relative; each entry of M within {@code (folds + 2)·u·√(M_ii·M_jj)} plus a
   * float32 rounding of the staged rows: one rounding of the stored entry per fold, the staging
   * rounding of y = x − s (relative u), both of the order of the entry's Cauchy–Schwarz bound.
   */
  private static void assertClose(ExactSnapshot s, int n, double[][] reference, int parts) {
    assertThat(s.count()).isEqualTo(n);
    int d = s.dimension();
    double[] mean = s.mean();
    double[] m = s.comoment();
    for (int k = 0; k < d; k++) {
      double tol = 1e-12 * (1 + Math.abs(reference[0][k]));
      assertThat(mean[k])
          .as("mean[%d]", k)
          .isCloseTo(reference[0][k], org.assertj.core.data.Offset.offset(tol));
    }
    int folds = n / Float32Moment.BATCH_ROWS + parts + 1;
    double[] ref = reference[1];
    for (int i = 0; i < d; i++) {
      for (int j = 0; j < d; j++) {
        double bound = Math.sqrt(Math.abs(ref[i * d + i] * ref[j * d + j]));
        double tol = (folds + 4) * U * bound + 1e-9;
        assertThat(m[i * d + j])
            .as("M[%d][%d]", i, j)
            .isCloseTo(ref[i * d + j], org.assertj.core.data.Offset.offset(tol));
      }
    }
  }
}
