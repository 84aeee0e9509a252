package io.phasewatch.agent.core;

import io.phasewatch.core.sketch.CovarianceSketch;
import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.core.sketch.Float32Moment;
import io.phasewatch.core.sketch.FrequentDirections;
import io.phasewatch.core.sketch.RowSample;

/** Makes the summary a layer gets; called on the sketch thread when a layer's first rows arrive. */
public interface SketchFactory {

  /** The exact co-moment summary of width {@code dimension}. */
  CovarianceSketch exact(int dimension);

  /** The exact co-moment with its matrix stored as float32, width {@code dimension}. */
  CovarianceSketch exact32(int dimension);

  /** A Frequent Directions sketch of {@code ell} rows and width {@code dimension}. */
  CovarianceSketch frequentDirections(int ell, int dimension);

  /** A uniform sample of at most {@code capacity} rows of width {@code dimension}. */
  CovarianceSketch rowSample(int capacity, int dimension);

  /**
   * {@link ExactSummary}, {@link Float32Moment}, {@link RowSample} and {@link FrequentDirections}:
   * what the agent uses unless told else.
   */
  static SketchFactory standard() {
    return new SketchFactory() {
      @Override
      public CovarianceSketch exact(int dimension) {
        return ExactSummary.ofDimension(dimension);
      }

      @Override
      public CovarianceSketch exact32(int dimension) {
        return Float32Moment.ofDimension(dimension);
      }

      @Override
      public CovarianceSketch frequentDirections(int ell, int dimension) {
        return FrequentDirections.withRows(ell, dimension);
      }

      @Override
      public CovarianceSketch rowSample(int capacity, int dimension) {
        return RowSample.withCapacity(capacity, dimension);
      }
    };
  }
}
