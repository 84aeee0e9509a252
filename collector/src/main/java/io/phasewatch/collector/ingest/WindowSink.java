package io.phasewatch.collector.ingest;

/** Where the ingest thread hands merged windows and evictions. */
public interface WindowSink {

  /**
   * Takes a closed window; may block while the analysis is full (back-pressure on the consumer).
   */
  void accept(MergedWindow window) throws InterruptedException;

  /** The run was idle past the limit: forget it and end its series. */
  void evict(String run);

  /**
   * The layer's partition moved to another instance of the consumer group, which now publishes it:
   * forget the layer and end its series here, so that each series has one owner at a time.
   */
  void release(String run, String layer);
}
