package io.phasewatch.demo.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.loss.Loss;
import io.phasewatch.agent.djl.PhasewatchTrainingListener;

/**
 * The loss a post-training {@code Trainer} reports to its listeners. Each stage computes its own
 * objective (masked cross-entropy, DPO, policy gradient) and hands the scalar to the listeners as
 * the batch's prediction; this loss returns it, so a listener that evaluates {@code
 * trainer.getLoss()} on the batch (DJL's evaluator listeners) reads the stage's real loss. The
 * {@link PhasewatchTrainingListener} gets it directly, from {@link
 * PhasewatchTrainingListener.BatchDataWithLoss}.
 */
final class StageLoss extends Loss {

  StageLoss(String name) {
    super(name);
  }

  @Override
  public NDArray evaluate(NDList labels, NDList predictions) {
    return predictions.head();
  }
}
