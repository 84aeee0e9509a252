package io.phasewatch.agent.publish;

import java.util.List;
import java.util.Objects;

/**
 * One encoded snapshot waiting for the broker: its Kafka key and record values, in order.
 *
 * @param sequence position in the publisher's delivery order (continues across restarts with a
 *     spool)
 * @param enqueuedNanos {@link System#nanoTime()} at enqueue, for the publish latency; 0 when read
 *     back from a spool written by an earlier process
 */
record Pending(long sequence, String key, List<byte[]> chunks, long enqueuedNanos) {
  Pending {
    Objects.requireNonNull(key, "key");
    chunks = List.copyOf(chunks);
    if (chunks.isEmpty()) {
      throw new IllegalArgumentException("pending snapshot " + key + ": no chunks");
    }
  }

  long bytes() {
    long n = key.length() * 2L;
    for (byte[] c : chunks) {
      n += c.length;
    }
    return n;
  }
}
