package io.phasewatch.core.sketch;

/** Merging of snapshots whose kind is known only at run time (the collector's case). */
public final class Snapshots {

  private Snapshots() {}

  /**
   * The snapshot of the union of the rows behind {@code a} and {@code b}; both must be of the same
   * kind and dimension (and, for Frequent Directions, the same ℓ). Row samples are concatenated.
   */
  public static CovarianceSnapshot merge(CovarianceSnapshot a, CovarianceSnapshot b) {
    if (a == null || b == null) {
      throw new IllegalArgumentException("merge: snapshots must not be null");
    }
    if (a instanceof ExactSnapshot ea && b instanceof ExactSnapshot eb) {
      return ExactSummary.merge(ea, eb);
    }
    if (a instanceof FdSnapshot fa && b instanceof FdSnapshot fb) {
      return FrequentDirections.merge(fa, fb);
    }
    if (a instanceof RowSampleSnapshot ra && b instanceof RowSampleSnapshot rb) {
      return RowSampleSnapshot.concat(ra, rb);
    }
    throw new IllegalArgumentException(
        "merge: cannot merge " + describe(a) + " with " + describe(b) + " (kinds differ)");
  }

  private static String describe(CovarianceSnapshot s) {
    if (s instanceof FdSnapshot f) {
      return "fd(ell=" + f.ell() + ", d=" + f.dimension() + ")";
    }
    if (s instanceof RowSampleSnapshot) {
      return "sample(d=" + s.dimension() + ")";
    }
    return "exact(d=" + s.dimension() + ")";
  }
}
