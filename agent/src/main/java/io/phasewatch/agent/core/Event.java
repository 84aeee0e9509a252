package io.phasewatch.agent.core;

import io.phasewatch.core.wire.Stage;

/** What crosses from the training thread to the sketch thread. */
sealed interface Event {

  /** Rows already copied off the caller's array; {@code layer} holds the drop counter. */
  record Rows(LayerCounters layer, long step, float[] data, int rowCount, int dim)
      implements Event {
    long bytes() {
      return (long) data.length * Float.BYTES;
    }
  }

  record StepEnded(long step, long tokensSeen, double loss) implements Event {}

  /** A named training scalar; the name is checked on the training thread. */
  record Scalar(String name, double value) implements Event {}

  record StageChanged(Stage stage, long step) implements Event {}

  /** Close the open window now (agent close), then count down. */
  record Flush(java.util.concurrent.CountDownLatch done) implements Event {}
}
