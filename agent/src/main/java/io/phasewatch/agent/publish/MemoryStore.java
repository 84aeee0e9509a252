package io.phasewatch.agent.publish;

import java.util.ArrayDeque;

/** Pending snapshots on the heap, bounded in count and bytes; gone with the process. */
final class MemoryStore implements PendingStore {
  private final int maxSnapshots;
  private final long maxBytes;
  private final ArrayDeque<Pending> queue = new ArrayDeque<>();
  private long bytes;

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
    while (!queue.isEmpty() && (queue.size() >= maxSnapshots || bytes + p.bytes() > maxBytes)) {
      bytes -= queue.removeFirst().bytes();
      dropped.drop("buffer_full");
    }
    queue.addLast(p);
    bytes += p.bytes();
  }

  @Override
  public Pending peek(DropCounter dropped) {
    return queue.peekFirst();
  }

  @Override
  public void removeHead() {
    Pending p = queue.pollFirst();
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
