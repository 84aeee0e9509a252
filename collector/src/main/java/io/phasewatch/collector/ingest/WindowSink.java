package io.phasewatch.collector.ingest;

/** Where the ingest thread hands merged windows and evictions. */
public interface WindowSink {

  /**
   * Takes a closed window; may block while the analysis is full (back-pressure on the consumer).
   */
  void accept(MergedWindow window) throws InterruptedException;

  /**
   * Takes a closed window of a partition this instance is replaying from its start (it was just
   * assigned): a layer whose first window comes this way stays out of the published metrics until
   * {@link #reveal}, so a series moving between instances appears once, with its whole history
   * already counted, instead of climbing through it.
   */
  void acceptReplayed(MergedWindow window) throws InterruptedException;

  /** The layer's partition is read to its end: publish it. */
  void reveal(String run, String layer);

  /** The run was idle past the limit: forget it and end its series. */
  void evict(String run);

  /**
   * The layer's partition moved to another instance of the consumer group, which now publishes it:
   * forget the layer and end its series here, so that each series has one owner at a time.
   */
  void release(String run, String layer);
}
