package io.phasewatch.collector.spectrum;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.phasewatch.core.sketch.CovarianceSnapshot;
import io.phasewatch.core.sketch.ExactSnapshot;
import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.core.sketch.FdSnapshot;
import io.phasewatch.core.sketch.FrequentDirections;
import io.phasewatch.core.sketch.Snapshots;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The collector's LAPACK merge against the agent's {@code FrequentDirections.merge}, an independent
 * implementation of the same definition: equal counts, means and sums, equal shrinkage and the same
 * {@code BᵀB − nμμᵀ} spectrum.
 */
class SnapshotMergeTest {

  @ParameterizedTest
  @CsvSource({"8, 40, 2, 5", "16, 96, 8, 60", "32, 200, 8, 300", "24, 64, 3, 10"})
  void mergingRanksMatchesTheAgentsFrequentDirectionsMerge(
      int ell, int d, int ranks, int rowsPerRank) {
    Random random = new Random(ell * 31L + d);
    List<FdSnapshot> parts = new ArrayList<>();
    for (int r = 0; r < ranks; r++) {
      FrequentDirections fd = FrequentDirections.withRows(ell, d);
      fd.update(powerLawRows(random, rowsPerRank, d, 3.0 + r), rowsPerRank);
      parts.add(fd.snapshot());
    }
    CovarianceSnapshot reference = parts.get(0);
    for (int i = 1; i < parts.size(); i++) {
      reference = Snapshots.merge(reference, parts.get(i));
    }
    FdSnapshot ours = (FdSnapshot) SnapshotMerge.mergeAll(parts);
    FdSnapshot theirs = (FdSnapshot) reference;

    assertThat(ours.count()).isEqualTo(theirs.count());
    assertThat(ours.rowCount()).isEqualTo(theirs.rowCount());
    assertThat(ours.mean()).containsExactly(theirs.mean(), within(1e-12));
    assertThat(ours.sumOfSquares()).isEqualTo(theirs.sumOfSquares());
    double[] a = Spectrum.of(ours).eigenvalues();
    double[] b = Spectrum.of(theirs).eigenvalues();
    assertThat(a).hasSameSizeAs(b);
    for (int i = 0; i < a.length; i++) {
      assertThat(a[i]).isCloseTo(b[i], within(1e-9 * b[0]));
    }
    assertThat(ours.shrinkage()).isCloseTo(theirs.shrinkage(), within(1e-9 * b[0] * ours.count()));
    if (ranks * rowsPerRank > ell) {
      assertThat(ours.shrinkage()).isPositive();
    }
  }

  /**
   * {@code mergeAll} folds FD parts by blocks and treats the accumulated rows' Gram block as
   * diagonal; the pairwise {@code merge} stacks and forms the whole Gram matrix. Both define the
   * same sketch: equal counts, sums, means and row counts, and {@code BᵀB} and the shrinkage equal
   * to 1e-12 of the largest eigenvalue. The cases cover parts that need no shrink at first (their
   * rows not orthogonal when the shrink comes), d below ℓ, and ranks of fewer rows than ℓ.
   */
  @ParameterizedTest
  @CsvSource({
    "8, 40, 2, 5",
    "16, 96, 8, 60",
    "32, 200, 8, 300",
    "24, 64, 3, 10",
    "32, 20, 4, 50",
    "16, 128, 6, 7"
  })
  void foldingAllRanksEqualsThePairwiseMerge(int ell, int d, int ranks, int rowsPerRank) {
    Random random = new Random(ell * 17L + d + ranks);
    List<FdSnapshot> parts = new ArrayList<>();
    for (int r = 0; r < ranks; r++) {
      FrequentDirections fd = FrequentDirections.withRows(ell, d);
      fd.update(powerLawRows(random, rowsPerRank, d, 1.0 + r), rowsPerRank);
      parts.add(fd.snapshot());
    }
    FdSnapshot folded = (FdSnapshot) SnapshotMerge.mergeAll(parts);
    FdSnapshot pairwise = (FdSnapshot) SnapshotMerge.mergePairwise(parts);

    assertThat(folded.count()).isEqualTo(pairwise.count());
    assertThat(folded.rowCount()).isEqualTo(pairwise.rowCount());
    assertThat(folded.mean()).containsExactly(pairwise.mean());
    assertThat(folded.sumOfSquares()).isEqualTo(pairwise.sumOfSquares());
    assertThat(folded.nonFiniteRows()).isEqualTo(pairwise.nonFiniteRows());
    double[] expected = gram(pairwise);
    double[] actual = gram(folded);
    // λ₁ of BᵀB: the largest squared row norm, since the rows after a shrink are orthogonal.
    double top = 0;
    double[] rows = pairwise.rows();
    for (int r = 0; r < pairwise.rowCount(); r++) {
      double norm = 0;
      for (int j = 0; j < d; j++) {
        norm += rows[r * d + j] * rows[r * d + j];
      }
      top = Math.max(top, norm);
    }
    for (int i = 0; i < expected.length; i++) {
      assertThat(actual[i]).isCloseTo(expected[i], within(1e-12 * top));
    }
    assertThat(folded.shrinkage()).isCloseTo(pairwise.shrinkage(), within(1e-12 * top));
    if (ranks * rowsPerRank > ell) {
      assertThat(pairwise.shrinkage()).isPositive();
    }
  }

  /** {@code BᵀB} (d × d) of the sketch's rows, in plain loops. */
  private static double[] gram(FdSnapshot s) {
    int d = s.dimension();
    double[] rows = s.rows();
    double[] g = new double[d * d];
    for (int r = 0; r < s.rowCount(); r++) {
      for (int i = 0; i < d; i++) {
        double v = rows[r * d + i];
        for (int j = 0; j < d; j++) {
          g[i * d + j] += v * rows[r * d + j];
        }
      }
    }
    return g;
  }

  @Test
  void exactSummariesMergeAsTheAgentMergesThem() {
    Random random = new Random(5);
    ExactSummary x = ExactSummary.ofDimension(6);
    ExactSummary y = ExactSummary.ofDimension(6);
    x.update(powerLawRows(random, 30, 6, 1.0), 30);
    y.update(powerLawRows(random, 20, 6, 2.0), 20);
    ExactSnapshot merged =
        (ExactSnapshot) SnapshotMerge.mergeAll(List.of(x.snapshot(), y.snapshot()));
    ExactSnapshot reference = (ExactSnapshot) Snapshots.merge(x.snapshot(), y.snapshot());
    assertThat(merged.comoment()).containsExactly(reference.comoment(), within(0.0));
  }

  @Test
  void sketchesOfDifferentSizesAreRejectedByName() {
    FdSnapshot small = FrequentDirections.withRows(4, 8).snapshot();
    FdSnapshot large = FrequentDirections.withRows(8, 8).snapshot();
    assertThatThrownBy(() -> SnapshotMerge.mergeAll(List.of(small, large)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("ell=4");
    assertThatThrownBy(() -> SnapshotMerge.mergeAll(List.of()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  /** Rows with a decaying spectrum and a non-zero mean, as hidden states have. */
  private static float[] powerLawRows(Random random, int n, int d, double offset) {
    float[] rows = new float[n * d];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < d; j++) {
        rows[i * d + j] = (float) (offset + random.nextGaussian() * Math.pow(j + 1, -0.8));
      }
    }
    return rows;
  }
}
