package io.phasewatch.collector.ingest;

import java.util.Arrays;
import java.util.List;

/**
 * What {@link WindowMerger#offer} did with a decoded snapshot. The rejections are set aside like
 * malformed records: counted under {@link #label()} and copied to the dead-letter topic.
 */
public enum Admission {
  /** Held as a part of its pending window. */
  ACCEPTED(null),
  /** The same (run, rank, layer, window) was already held or merged: counted once. */
  DUPLICATE(null),
  /** A rank's part of a window that already closed (partially) without it. */
  LATE("late_part"),
  /** A new run beyond the limit on live runs. */
  LIMIT_RUNS("limit_runs"),
  /** A new layer beyond the limit on layers per run. */
  LIMIT_LAYERS("limit_layers"),
  /** A part whose world size contradicts the earlier parts of its window. */
  WORLD_SIZE_MISMATCH("bad_field"),
  /**
   * A snapshot whose Kafka record key is not its body's {@code run/layer} (checked by the ingest
   * before the offer): a mis-keyed producer would split a layer across partitions, and with it the
   * one-owner-per-layer rule of a consumer group.
   */
  KEY_MISMATCH("key_mismatch");

  private final String label;

  Admission(String label) {
    this.label = label;
  }

  /** The {@code reason} label of a rejection; null for {@link #ACCEPTED} and {@link #DUPLICATE}. */
  public String label() {
    return label;
  }

  public boolean rejected() {
    return label != null;
  }

  /** The labels of all rejections, to register their counters before the first one happens. */
  public static List<String> rejectionLabels() {
    return Arrays.stream(values()).filter(Admission::rejected).map(Admission::label).toList();
  }
}
