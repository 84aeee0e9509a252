package io.phasewatch.core.wire;

import java.util.Objects;

/**
 * Who measured what, where and when: travels with every snapshot.
 *
 * @param runId the training run, chosen by the operator (also the first half of the Kafka key)
 * @param rank data-parallel rank of the producer, {@code 0 ≤ rank < worldSize}
 * @param layer tapped layer name (the second half of the Kafka key)
 * @param step the training step at which the window closed
 * @param windowId monotonically increasing per (run, layer); equal across ranks for the same window
 * @param tokensSeen training tokens seen by this rank when the window closed
 * @param captureTimeMillis wall-clock time the window closed, epoch milliseconds
 * @param samplesDropped rows this rank's agent dropped for this layer so far (full queue etc.)
 */
public record SnapshotMetadata(
    String runId,
    Stage stage,
    int rank,
    int worldSize,
    String layer,
    long step,
    long windowId,
    long tokensSeen,
    long captureTimeMillis,
    long samplesDropped) {

  public SnapshotMetadata {
    Objects.requireNonNull(runId, "runId");
    Objects.requireNonNull(stage, "stage");
    Objects.requireNonNull(layer, "layer");
    if (runId.isEmpty() || layer.isEmpty()) {
      throw new IllegalArgumentException("snapshot metadata: runId and layer must not be empty");
    }
    if (worldSize < 1 || rank < 0 || rank >= worldSize) {
      throw new IllegalArgumentException(
          "snapshot metadata: rank " + rank + " outside world size " + worldSize);
    }
    if (step < 0 || windowId < 0 || tokensSeen < 0 || samplesDropped < 0) {
      throw new IllegalArgumentException(
          "snapshot metadata: step, windowId, tokensSeen and samplesDropped must be ≥ 0");
    }
  }

  /** The Kafka record key: every rank's snapshot of a layer goes to the same partition. */
  public String key() {
    return runId + "/" + layer;
  }
}
