package io.phasewatch.agent.core;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The hand-off from the training thread: bounded in rows and in bytes of row data, and in events
 * (each row event holds at least one row, so events ≤ max rows + room for step and stage events).
 *
 * <p>Offers are lock-free (a few CAS) and never wake the consumer: the sketch thread polls and,
 * finding nothing, parks for 1 ms, doubling up to 16 ms while it stays idle (about 60 wake-ups a
 * second when idle). Waking it on each offer would cost the training thread a futex call and, on a
 * busy machine, a context switch to the woken thread; an event waits at most 16 ms instead.
 */
final class SampleQueue {
  // Step and stage events beyond the row bound; at one per step this is hours of a stalled thread.
  private static final int CONTROL_EVENTS = 8192;
  private static final long MIN_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
  private static final long MAX_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(16);

  private final long maxRows;
  private final long maxBytes;
  private final int maxEvents;
  private final ConcurrentLinkedQueue<Event> events = new ConcurrentLinkedQueue<>();
  private final AtomicInteger size = new AtomicInteger();
  private final AtomicLong rows = new AtomicLong();
  private final AtomicLong bytes = new AtomicLong();
  private long park = MIN_PARK_NANOS; // consumer only

  SampleQueue(int maxRows, long maxBytes) {
    this.maxRows = maxRows;
    this.maxBytes = maxBytes;
    this.maxEvents = maxRows + CONTROL_EVENTS;
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
    if (!offer(r)) {
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
    return offer(e);
  }

  private boolean offer(Event e) {
    if (size.incrementAndGet() > maxEvents) {
      size.decrementAndGet();
      return false;
    }
    events.add(e);
    return true;
  }

  /** The next event, waiting up to {@code timeout}; null if none came. */
  Event poll(long timeout, TimeUnit unit) throws InterruptedException {
    long deadline = System.nanoTime() + unit.toNanos(timeout);
    while (true) {
      Event e = events.poll();
      if (e != null) {
        park = MIN_PARK_NANOS;
        size.decrementAndGet();
        if (e instanceof Event.Rows r) {
          rows.addAndGet(-r.rowCount());
          bytes.addAndGet(-r.bytes());
        }
        return e;
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return null;
      }
      LockSupport.parkNanos(this, Math.min(left, park));
      park = Math.min(2 * park, MAX_PARK_NANOS);
      if (Thread.interrupted()) {
        throw new InterruptedException();
      }
    }
  }

  long rows() {
    return rows.get();
  }

  long bytes() {
    return bytes.get();
  }
}
