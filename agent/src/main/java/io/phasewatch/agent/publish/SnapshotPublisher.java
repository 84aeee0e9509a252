package io.phasewatch.agent.publish;

import io.phasewatch.core.wire.SnapshotRecord;
import java.time.Duration;

/**
 * Takes closed windows off the sketch thread. Implementations never block on I/O and never throw.
 */
public interface SnapshotPublisher extends AutoCloseable {

  /** Queues one snapshot for delivery, or counts it as dropped with a reason. */
  void publish(SnapshotRecord record);

  /** Tries to deliver what is pending for up to {@code drainTimeout}, then lets go. */
  void close(Duration drainTimeout);

  @Override
  default void close() {
    close(Duration.ofSeconds(10));
  }
}
