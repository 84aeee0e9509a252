package io.phasewatch.core.sketch;

/** Merging of snapshots whose kind is known only at run time (the collector's case). */
public final class Snapshots {

  private Snapshots() {}

  /**
   * The snapshot of the union of the rows behind {@code a} and {@code b}; both must be of the same
   * kind and dimension (and, for Frequent Directions, the same ℓ). Row samples are concatenated;
   * exact and float32 co-moments merge with each other, in double, into an {@link ExactSnapshot}.
   */
  public static CovarianceSnapshot merge(CovarianceSnapshot a, CovarianceSnapshot b) {
    if (a == null || b == null) {
      throw new IllegalArgumentException("merge: snapshots must not be null");
    }
    // Float32 co-moments join in double, by Chan's combine as for the exact kind.
    if (a instanceof Float32MomentSnapshot fa && isCoMoment(b)) {
      return fa.mergedWith(widened(b));
    }
    if (b instanceof Float32MomentSnapshot fb && a instanceof ExactSnapshot ea) {
      return fb.mergedWith(ea);
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

  private static boolean isCoMoment(CovarianceSnapshot s) {
    return s instanceof ExactSnapshot || s instanceof Float32MomentSnapshot;
  }

  private static ExactSnapshot widened(CovarianceSnapshot s) {
    return s instanceof Float32MomentSnapshot f ? f.widened() : (ExactSnapshot) s;
  }

  private static String describe(CovarianceSnapshot s) {
    if (s instanceof FdSnapshot f) {
      return "fd(ell=" + f.ell() + ", d=" + f.dimension() + ")";
    }
    if (s instanceof RowSampleSnapshot) {
      return "sample(d=" + s.dimension() + ")";
    }
    return (s instanceof Float32MomentSnapshot ? "exact32(d=" : "exact(d=") + s.dimension() + ")";
  }
}
