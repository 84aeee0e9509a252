package io.phasewatch.core.sketch;

/**
 * A mutable summary being filled by one thread. Not thread-safe by design: the sketch thread owns
 * it and hands out immutable {@link CovarianceSnapshot}s.
 */
public interface CovarianceSketch {

  int dimension();

  /** Folds one row of length d; a row holding NaN or ±Inf is counted and left out. */
  void update(float[] row);

  /**
   * Folds {@code rowCount} rows stored row-major in {@code rows} (length ≥ rowCount·d). This is the
   * fast path: implementations use blocked matrix products, not row-at-a-time loops.
   */
  void update(float[] rows, int rowCount);

  /**
   * The same for float64 rows (files written by numpy or PyTorch in double), folded without
   * narrowing: a spread far below a float's resolution of the mean, or values beyond a float's
   * range, keep their exact double values.
   */
  void update(double[] rows, int rowCount);

  /** An immutable copy of the current state; the sketch goes on accepting rows. */
  CovarianceSnapshot snapshot();

  /** Forgets all rows: the start of a new window. */
  void reset();
}
