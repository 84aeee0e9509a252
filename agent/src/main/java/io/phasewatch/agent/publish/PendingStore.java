package io.phasewatch.agent.publish;

/**
 * The bounded buffer between {@link KafkaSnapshotPublisher#publish} and its sender thread. Not
 * thread-safe: the publisher guards it with its lock. Oldest first.
 */
interface PendingStore {

  /** Appends; evicts the oldest entries past the bound and reports each to {@code dropped}. */
  void append(Pending p, DropCounter dropped);

  /**
   * The oldest entry, or null; it is pinned (never evicted by {@link #append}) until {@link
   * #removeHead} because the sender is delivering it. Entries that cannot be read are dropped and
   * reported.
   */
  Pending peek(DropCounter dropped);

  /** Removes the entry {@link #peek} returned, once it is delivered. */
  void removeHead();

  int size();

  long bytes();

  /** The next free sequence number (after what a spool already holds). */
  long nextSequence();

  /** Counts a dropped snapshot under a reason. */
  @FunctionalInterface
  interface DropCounter {
    void drop(String reason);
  }
}
