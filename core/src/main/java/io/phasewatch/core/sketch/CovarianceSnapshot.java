package io.phasewatch.core.sketch;

/**
 * An immutable summary of the rows of one window. It is what crosses threads, the wire and the
 * collector's merge; the mutable sketch that produced it stays on the thread that fills it.
 */
public sealed interface CovarianceSnapshot
    permits ExactSnapshot, Float32MomentSnapshot, FdSnapshot, RowSampleSnapshot {

  /** Finite rows folded in. */
  long count();

  /** Row dimension d. */
  int dimension();

  /** Rows left out because they held NaN or ±Inf; they are not part of {@link #count()}. */
  long nonFiniteRows();

  /** The exact mean of the folded rows (a copy). */
  double[] mean();
}
