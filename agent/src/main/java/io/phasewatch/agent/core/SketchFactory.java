package io.phasewatch.agent.core;

import io.phasewatch.core.sketch.CovarianceSketch;
import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.core.sketch.FrequentDirections;

/** Makes the summary a layer gets; called on the sketch thread when a layer's first rows arrive. */
public interface SketchFactory {

  /** The exact co-moment summary of width {@code dimension}. */
  CovarianceSketch exact(int dimension);

  /** A Frequent Directions sketch of {@code ell} rows and width {@code dimension}. */
  CovarianceSketch frequentDirections(int ell, int dimension);

  /** {@link ExactSummary} and {@link FrequentDirections}: what the agent uses unless told else. */
  static SketchFactory standard() {
    return new SketchFactory() {
      @Override
      public CovarianceSketch exact(int dimension) {
        return ExactSummary.ofDimension(dimension);
      }

      @Override
      public CovarianceSketch frequentDirections(int ell, int dimension) {
        return FrequentDirections.withRows(ell, dimension);
      }
    };
  }
}
