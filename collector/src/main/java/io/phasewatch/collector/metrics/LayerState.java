package io.phasewatch.collector.metrics;

import io.phasewatch.collector.phase.Phase;
import io.phasewatch.collector.spectrum.SpectralMeasures;
import io.phasewatch.core.wire.Stage;
import java.util.Objects;

/**
 * Everything known about one (run, layer) after its latest merged window: one immutable value,
 * swapped in whole, so a scrape never sees the measures of one window beside the step of another.
 *
 * @param ranks data-parallel ranks merged into the window
 * @param samplesDropped rows dropped by the agents for this layer so far, summed over ranks
 * @param effectiveRankMax the largest effective rank seen in this run and stage so far
 * @param phaseSinceStep the estimated step at which the current phase began (its onset)
 * @param phaseConfirmedStep the step of the window that confirmed the current phase
 * @param phaseOnsetTraining the run's training scalars of the window at, or nearest before, the
 *     current phase's onset; null when the run sent none by then (or they are no longer held)
 */
public record LayerState(
    String run,
    String layer,
    Stage stage,
    long windowId,
    long step,
    long captureTimeMillis,
    int ranks,
    int worldSize,
    boolean partial,
    long nonFiniteRows,
    long samplesDropped,
    SpectralMeasures measures,
    double effectiveRankMax,
    Phase phase,
    long phaseSinceStep,
    long phaseConfirmedStep,
    TrainingPoint phaseOnsetTraining) {

  public LayerState {
    Objects.requireNonNull(run, "run");
    Objects.requireNonNull(layer, "layer");
    Objects.requireNonNull(stage, "stage");
    Objects.requireNonNull(measures, "measures");
    Objects.requireNonNull(phase, "phase");
    if (ranks < 1 || ranks > worldSize) {
      throw new IllegalArgumentException(
          "layer state: " + ranks + " ranks merged for world size " + worldSize);
    }
  }
}
