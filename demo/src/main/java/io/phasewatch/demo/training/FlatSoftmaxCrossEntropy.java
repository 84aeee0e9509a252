package io.phasewatch.demo.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.loss.Loss;
import ai.djl.training.loss.SoftmaxCrossEntropyLoss;

/**
 * Next-token cross-entropy: DJL's {@link SoftmaxCrossEntropyLoss} wants logits as {@code (-1, V)}
 * and labels as {@code (-1)}, so {@code (B, T, V)} and {@code (B, T)} are flattened first.
 */
final class FlatSoftmaxCrossEntropy extends Loss {

  private final SoftmaxCrossEntropyLoss inner = new SoftmaxCrossEntropyLoss("ce");

  FlatSoftmaxCrossEntropy() {
    super("next_token_ce");
  }

  @Override
  public NDArray evaluate(NDList labels, NDList predictions) {
    NDArray logits = predictions.head();
    long v = logits.getShape().get(logits.getShape().dimension() - 1);
    return inner.evaluate(new NDList(labels.head().reshape(-1)), new NDList(logits.reshape(-1, v)));
  }
}
