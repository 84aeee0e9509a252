package io.phasewatch.collector.ingest;

import io.phasewatch.core.wire.SnapshotRecord;
import java.util.List;
import java.util.Objects;

/**
 * All parts of one (run, layer, window) that arrived before it closed, in rank order. {@code
 * complete} is false when the window closed at the merge timeout (or because a later window of the
 * same layer completed) before all {@code worldSize} ranks arrived.
 *
 * @param waitMillis record time from the window's first part to its close
 */
public record MergedWindow(
    String run,
    String layer,
    long windowId,
    int worldSize,
    List<SnapshotRecord> parts,
    boolean complete,
    long waitMillis) {

  public MergedWindow {
    Objects.requireNonNull(run, "run");
    Objects.requireNonNull(layer, "layer");
    parts = List.copyOf(parts);
    if (parts.isEmpty() || parts.size() > worldSize) {
      throw new IllegalArgumentException(
          "merged window: " + parts.size() + " parts for world size " + worldSize);
    }
    if (complete != (parts.size() == worldSize)) {
      throw new IllegalArgumentException(
          "merged window: complete=" + complete + " with " + parts.size() + "/" + worldSize);
    }
    if (waitMillis < 0) {
      throw new IllegalArgumentException("merged window: negative wait " + waitMillis);
    }
  }

  /** The part with the highest step: its metadata labels the merged window. */
  public SnapshotRecord latestPart() {
    SnapshotRecord best = parts.get(0);
    for (SnapshotRecord p : parts) {
      if (p.metadata().step() > best.metadata().step()) {
        best = p;
      }
    }
    return best;
  }
}
