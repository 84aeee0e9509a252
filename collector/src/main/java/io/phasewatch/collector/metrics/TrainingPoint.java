package io.phasewatch.collector.metrics;

import io.phasewatch.core.wire.Stage;
import io.phasewatch.core.wire.TrainingScalars;
import java.util.Objects;

/**
 * The training scalars of one window of a run, merged over the ranks that sent them (weighted
 * means, weights added: {@link TrainingScalars#merge}).
 *
 * @param ranks the ranks whose snapshots were merged into this window
 */
public record TrainingPoint(
    long windowId, long step, Stage stage, int ranks, TrainingScalars scalars) {
  public TrainingPoint {
    Objects.requireNonNull(stage, "stage");
    Objects.requireNonNull(scalars, "scalars");
  }
}
