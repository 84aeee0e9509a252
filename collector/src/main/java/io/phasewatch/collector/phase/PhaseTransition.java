package io.phasewatch.collector.phase;

import io.phasewatch.core.wire.Stage;
import java.util.Objects;

/**
 * One confirmed change of phase, with the evidence that confirmed it.
 *
 * @param run the training run
 * @param layer the tapped layer
 * @param stage the stage of the segment the transition belongs to
 * @param from the phase left
 * @param to the phase entered
 * @param step the step of the observation that confirmed the transition
 * @param onsetStep the estimated step at which the new phase began: the turn the detector found in
 *     the series (≤ step)
 * @param rankTrend smoothed RankMe trend at that step: relative change per unit of ln(step)
 * @param alphaTrend smoothed α trend at that step, same unit
 * @param effectiveRank RankMe observed at that step
 * @param alpha α observed at that step
 */
public record PhaseTransition(
    String run,
    String layer,
    Stage stage,
    Phase from,
    Phase to,
    long step,
    long onsetStep,
    double rankTrend,
    double alphaTrend,
    double effectiveRank,
    double alpha) {

  public PhaseTransition {
    Objects.requireNonNull(run, "run");
    Objects.requireNonNull(layer, "layer");
    Objects.requireNonNull(stage, "stage");
    Objects.requireNonNull(from, "from");
    Objects.requireNonNull(to, "to");
    if (from == to) {
      throw new IllegalArgumentException("phase transition: from and to are both " + from.label());
    }
    if (step < 0) {
      throw new IllegalArgumentException("phase transition: step " + step + " is negative");
    }
    if (onsetStep < 0 || onsetStep > step) {
      throw new IllegalArgumentException(
          "phase transition: onset step " + onsetStep + " outside [0, " + step + "]");
    }
  }
}
