package io.phasewatch.collector.ingest;

/** Where the ingest thread hands merged windows and evictions. */
public interface WindowSink {

  /**
   * Takes a closed window; may block while the analysis is full (back-pressure on the consumer).
   */
  void accept(MergedWindow window) throws InterruptedException;

  /** The run was idle past the limit: forget it and end its series. */
  void evict(String run);
}
