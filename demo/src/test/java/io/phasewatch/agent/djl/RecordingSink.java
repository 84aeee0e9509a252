package io.phasewatch.agent.djl;

import io.phasewatch.agent.capture.CaptureSink;
import io.phasewatch.core.wire.Stage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Keeps every call, copying the rows as the contract asks. */
public class RecordingSink implements CaptureSink {

  public record Rows(String layer, long step, float[] rows, int rowCount, int dim) {}

  public record Step(long step, long tokensSeen, double loss) {}

  public final List<Rows> rows = new ArrayList<>();
  public final List<Step> steps = new ArrayList<>();

  @Override
  public void rows(String layer, long step, float[] data, int rowCount, int dim) {
    rows.add(new Rows(layer, step, Arrays.copyOf(data, rowCount * dim), rowCount, dim));
  }

  @Override
  public void stepEnded(long step, long tokensSeen, double loss) {
    steps.add(new Step(step, tokensSeen, loss));
  }

  @Override
  public void stageChanged(Stage stage, long step) {}

  public List<Rows> of(String layer) {
    return rows.stream().filter(r -> r.layer().equals(layer)).toList();
  }
}
