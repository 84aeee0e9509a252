package io.phasewatch.agent.capture;

import io.phasewatch.core.wire.Stage;

/**
 * What the training side hands to the agent. Called on the training thread: implementations copy
 * what they keep, return at once, never block and never throw.
 */
public interface CaptureSink {

  /**
   * Sampled hidden-state rows of one tapped layer, row-major {@code rowCount × dim} in {@code rows}
   * (which may be longer). The caller may reuse {@code rows} after this returns.
   */
  void rows(String layer, long step, float[] rows, int rowCount, int dim);

  /**
   * A training step finished; {@code tokensSeen} is cumulative on this rank. {@code loss} is the
   * step's training loss when the training side has it at no extra cost, else NaN; the agent
   * averages the finite ones over each window.
   */
  void stepEnded(long step, long tokensSeen, double loss);

  /** The run entered another stage (pretrain → sft → dpo → rlvr); windows after it carry it. */
  void stageChanged(Stage stage, long step);

  /**
   * A training scalar the user names (held-out accuracy, eval loss) or the learning rate ({@code
   * learning_rate}); the window open now carries the latest value. Sinks that do not keep scalars
   * ignore it.
   */
  default void recordScalar(String name, double value) {}
}
