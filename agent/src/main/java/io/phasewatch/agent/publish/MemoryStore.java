package io.phasewatch.agent.publish;

import java.util.ArrayDeque;

/** Pending snapshots on the heap, bounded in count and bytes; gone with the process. */
final class MemoryStore implements PendingStore {
  private final int maxSnapshots;
  private final long maxBytes;
  private final ArrayDeque<Pending> queue = new ArrayDeque<>();
  private long bytes;
  private boolean headPinned;

  MemoryStore(int maxSnapshots, long maxBytes) {
    this.maxSnapshots = maxSnapshots;
    this.maxBytes = maxBytes;
  }

  @Override
  public void append(Pending p, DropCounter dropped) {
    if (p.bytes() > maxBytes) {
      dropped.drop("too_large");
      return;
    }
    // Drop the oldest: a late window is worth less to the phase detector than the newest one.
    while (queue.size() > (headPinned ? 1 : 0)
        && (queue.size() >= maxSnapshots || bytes + p.bytes() > maxBytes)) {
      Pending pinned = headPinned ? queue.removeFirst() : null;
      bytes -= queue.removeFirst().bytes();
      if (pinned != null) {
        queue.addFirst(pinned);
      }
      dropped.drop("buffer_full");
    }
    queue.addLast(p);
    bytes += p.bytes();
  }

  @Override
  public Pending peek(DropCounter dropped) {
    headPinned = !queue.isEmpty();
    return queue.peekFirst();
  }

  @Override
  public void removeHead() {
    Pending p = queue.pollFirst();
    headPinned = false;
    if (p != null) {
      bytes -= p.bytes();
    }
  }

  @Override
  public int size() {
    return queue.size();
  }

  @Override
  public long bytes() {
    return bytes;
  }

  @Override
  public long nextSequence() {
    Pending last = queue.peekLast();
    return last == null ? 0 : last.sequence() + 1;
  }
}
