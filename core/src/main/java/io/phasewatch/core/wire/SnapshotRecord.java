package io.phasewatch.core.wire;

import io.phasewatch.core.sketch.CovarianceSnapshot;
import java.util.Objects;

/** One published unit: a snapshot of one (run, rank, layer, window) and its metadata. */
public record SnapshotRecord(SnapshotMetadata metadata, CovarianceSnapshot snapshot) {
  public SnapshotRecord {
    Objects.requireNonNull(metadata, "metadata");
    Objects.requireNonNull(snapshot, "snapshot");
  }
}
