package io.phasewatch.collector.spectrum;

import io.phasewatch.core.sketch.CovarianceSnapshot;
import io.phasewatch.core.sketch.FdSnapshot;
import io.phasewatch.core.sketch.Snapshots;
import java.util.Arrays;
import java.util.List;

/**
 * The collector's merge of one window's rank snapshots. Frequent Directions snapshots are merged as
 * {@code FrequentDirections.merge} defines it (stack, shrink back to ℓ by {@code σ²_{ℓ+1}}, Δ
 * added; GLPW16 mergeability), with the shrink's Gram matrix, eigenpairs and rotation in {@link
 * Lapack}: at d = 4096, ℓ = 256 a pairwise merge is 6.8 times faster than the agent's pure-Java
 * shrink in one measured run (docs/benchmarks.md, "One merge"). Exact summaries, and FD where the
 * native library did not load, go through {@link Snapshots#merge}.
 */
public final class SnapshotMerge {

  private SnapshotMerge() {}

  /**
   * The merge of all {@code parts} (at least one), folded left to right: the same result as {@link
   * #merge} applied pairwise, to rounding. Frequent Directions parts of one shape go through {@link
   * #foldFd}, which skips work the pairwise merge repeats.
   */
  public static CovarianceSnapshot mergeAll(List<? extends CovarianceSnapshot> parts) {
    if (parts == null || parts.isEmpty()) {
      throw new IllegalArgumentException("merge: need at least one snapshot");
    }
    if (parts.size() > 1 && Lapack.available() && sameFdShape(parts)) {
      return foldFd(parts);
    }
    return mergePairwise(parts);
  }

  /**
   * {@link #merge} folded left to right over {@code parts}: the reference for {@link #mergeAll}.
   */
  public static CovarianceSnapshot mergePairwise(List<? extends CovarianceSnapshot> parts) {
    if (parts == null || parts.isEmpty()) {
      throw new IllegalArgumentException("merge: need at least one snapshot");
    }
    CovarianceSnapshot merged = parts.get(0);
    for (int i = 1; i < parts.size(); i++) {
      merged = merge(merged, parts.get(i));
    }
    return merged;
  }

  /** The snapshot of the union of the rows behind {@code a} and {@code b}. */
  public static CovarianceSnapshot merge(CovarianceSnapshot a, CovarianceSnapshot b) {
    if (Lapack.available()
        && a instanceof FdSnapshot fa
        && b instanceof FdSnapshot fb
        && fa.ell() == fb.ell()
        && fa.dimension() == fb.dimension()) {
      return mergeFd(fa, fb);
    }
    return Snapshots.merge(a, b);
  }

  private static boolean sameFdShape(List<? extends CovarianceSnapshot> parts) {
    if (!(parts.get(0) instanceof FdSnapshot first)) {
      return false;
    }
    for (CovarianceSnapshot p : parts) {
      if (!(p instanceof FdSnapshot f)
          || f.ell() != first.ell()
          || f.dimension() != first.dimension()) {
        return false;
      }
    }
    return true;
  }

  /**
   * The pairwise fold of FD parts with two savings that leave the result as {@link #merge} defines
   * it: the accumulated rows are never stacked with the next part (the Gram matrix and the rotation
   * are done by blocks, {@link Lapack#shrinkStacked}), and once they came out of a shrink their
   * Gram block is known to be diagonal, so only the cross block and the new part's block are
   * computed. Counts, means and sums are updated in the same order and with the same arithmetic as
   * {@link #mergeFd}.
   */
  private static FdSnapshot foldFd(List<? extends CovarianceSnapshot> parts) {
    FdSnapshot first = (FdSnapshot) parts.get(0);
    int d = first.dimension();
    int ell = first.ell();
    double[] rows = first.rows();
    int k = first.rowCount();
    boolean orthogonal = false;
    long n = first.count();
    double[] mean = first.mean();
    double sumOfSquares = first.sumOfSquares();
    double shrinkage = first.shrinkage();
    long nonFinite = first.nonFiniteRows();
    for (int i = 1; i < parts.size(); i++) {
      FdSnapshot b = (FdSnapshot) parts.get(i);
      int kb = b.rowCount();
      double[] delta = {0.0};
      if (k + kb > ell) {
        rows = Lapack.shrinkStacked(rows, k, orthogonal, b.rows(), kb, d, ell, delta);
        k = rows.length / d;
        orthogonal = true;
      } else {
        double[] stacked = Arrays.copyOf(rows, (k + kb) * d);
        System.arraycopy(b.rows(), 0, stacked, k * d, kb * d);
        rows = stacked;
        k += kb;
        orthogonal = false;
      }
      long merged = n + b.count();
      double[] mb = b.mean();
      for (int j = 0; j < d; j++) {
        mean[j] = merged == 0 ? 0 : mean[j] + (mb[j] - mean[j]) * b.count() / merged;
      }
      n = merged;
      sumOfSquares = sumOfSquares + b.sumOfSquares();
      shrinkage = shrinkage + b.shrinkage() + delta[0];
      nonFinite = nonFinite + b.nonFiniteRows();
    }
    return new FdSnapshot(ell, n, mean, rows, sumOfSquares, shrinkage, nonFinite);
  }

  private static FdSnapshot mergeFd(FdSnapshot a, FdSnapshot b) {
    int d = a.dimension();
    int ell = a.ell();
    int m = a.rowCount() + b.rowCount();
    double[] stacked = new double[m * d];
    System.arraycopy(a.rows(), 0, stacked, 0, a.rowCount() * d);
    System.arraycopy(b.rows(), 0, stacked, a.rowCount() * d, b.rowCount() * d);
    double[] rows = stacked;
    double[] delta = {0.0};
    if (m > ell) {
      rows = Lapack.shrink(stacked, m, d, ell, delta);
    }
    long n = a.count() + b.count();
    double[] ma = a.mean();
    double[] mb = b.mean();
    double[] mean = new double[d];
    for (int k = 0; k < d; k++) {
      mean[k] = n == 0 ? 0 : ma[k] + (mb[k] - ma[k]) * b.count() / n;
    }
    return new FdSnapshot(
        ell,
        n,
        mean,
        rows,
        a.sumOfSquares() + b.sumOfSquares(),
        a.shrinkage() + b.shrinkage() + delta[0],
        a.nonFiniteRows() + b.nonFiniteRows());
  }
}
