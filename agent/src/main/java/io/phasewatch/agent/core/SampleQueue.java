package io.phasewatch.agent.core;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The hand-off from the training thread: bounded in rows and in bytes of row data, and in events
 * (each row event holds at least one row, so events ≤ max rows + room for step and stage events).
 * Offers never wait; a refused offer is the caller's to count.
 */
final class SampleQueue {
  // Step and stage events beyond the row bound; at one per step this is hours of a stalled thread.
  private static final int CONTROL_EVENTS = 8192;

  private final long maxRows;
  private final long maxBytes;
  private final LinkedBlockingQueue<Event> events;
  private final AtomicLong rows = new AtomicLong();
  private final AtomicLong bytes = new AtomicLong();

  SampleQueue(int maxRows, long maxBytes) {
    this.maxRows = maxRows;
    this.maxBytes = maxBytes;
    this.events = new LinkedBlockingQueue<>(maxRows + CONTROL_EVENTS);
  }

  /** False when the rows would overflow either bound; nothing is reserved then. */
  boolean offerRows(Event.Rows r) {
    long b = r.bytes();
    if (rows.addAndGet(r.rowCount()) > maxRows) {
      rows.addAndGet(-r.rowCount());
      return false;
    }
    if (bytes.addAndGet(b) > maxBytes) {
      bytes.addAndGet(-b);
      rows.addAndGet(-r.rowCount());
      return false;
    }
    if (!events.offer(r)) {
      bytes.addAndGet(-b);
      rows.addAndGet(-r.rowCount());
      return false;
    }
    return true;
  }

  /** True when {@code rowCount × dim} floats could ever fit, so a refusal is only momentary. */
  boolean couldHold(int rowCount, int dim) {
    return rowCount <= maxRows && (long) rowCount * dim * Float.BYTES <= maxBytes;
  }

  boolean offerControl(Event e) {
    return events.offer(e);
  }

  Event poll(long timeout, TimeUnit unit) throws InterruptedException {
    Event e = events.poll(timeout, unit);
    if (e instanceof Event.Rows r) {
      rows.addAndGet(-r.rowCount());
      bytes.addAndGet(-r.bytes());
    }
    return e;
  }

  long rows() {
    return rows.get();
  }

  long bytes() {
    return bytes.get();
  }
}
