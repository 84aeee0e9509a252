package io.phasewatch.core.wire;

import io.phasewatch.core.sketch.CovarianceSnapshot;
import java.util.Objects;

/**
 * One published unit: a snapshot of one (run, rank, layer, window), its metadata and the training
 * scalars of the window (empty when the training side reported none).
 */
public record SnapshotRecord(
    SnapshotMetadata metadata, CovarianceSnapshot snapshot, TrainingScalars scalars) {
  public SnapshotRecord {
    Objects.requireNonNull(metadata, "metadata");
    Objects.requireNonNull(snapshot, "snapshot");
    Objects.requireNonNull(scalars, "scalars");
  }

  /** A snapshot without training scalars. */
  public SnapshotRecord(SnapshotMetadata metadata, CovarianceSnapshot snapshot) {
    this(metadata, snapshot, TrainingScalars.empty());
  }
}
