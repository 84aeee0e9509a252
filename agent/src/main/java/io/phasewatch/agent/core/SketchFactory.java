package io.phasewatch.agent.core;

import io.phasewatch.agent.sketch.CovarianceSketch;

/** Makes the summary a layer gets; called on the sketch thread when a layer's first rows arrive. */
public interface SketchFactory {

  /** The exact co-moment summary of width {@code dimension}. */
  CovarianceSketch exact(int dimension);

  /** A Frequent Directions sketch of {@code ell} rows and width {@code dimension}. */
  CovarianceSketch frequentDirections(int ell, int dimension);
}
