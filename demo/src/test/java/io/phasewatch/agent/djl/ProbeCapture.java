package io.phasewatch.agent.djl;

import io.phasewatch.agent.capture.CaptureSink;
import io.phasewatch.core.wire.Stage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The experiments' sink: copies each probe's rows and returns, as the agent does, so the measured
 * probe overhead is the probe pass alone; the spectra are computed after training. Keeps an EMA of
 * the loss for the rows' records.
 */
final class ProbeCapture implements CaptureSink {

  record Captured(
      long step, String layer, double loss, float[] rows, int rowCount, int dim, double seconds) {}

  final List<Captured> captured = new ArrayList<>();
  private final long start = System.nanoTime();
  private double loss = Double.NaN;

  /** The loss EMA (weight 0.1 per step). */
  double loss() {
    return loss;
  }

  /** Seconds since this sink was made. */
  double seconds() {
    return (System.nanoTime() - start) / 1e9;
  }

  @Override
  public void rows(String layer, long step, float[] rows, int rowCount, int dim) {
    captured.add(
        new Captured(
            step, layer, loss, Arrays.copyOf(rows, rowCount * dim), rowCount, dim, seconds()));
  }

  @Override
  public void stepEnded(long step, long tokensSeen, double l) {
    loss = Double.isNaN(loss) ? l : 0.9 * loss + 0.1 * l;
  }

  @Override
  public void stageChanged(Stage stage, long step) {}
}
