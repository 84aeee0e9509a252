package io.phasewatch.agent.core;

import io.phasewatch.agent.publish.SnapshotPublisher;
import io.phasewatch.core.wire.SnapshotRecord;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Keeps what the sketch thread hands over, for tests of windowing without a broker. */
final class CapturingPublisher implements SnapshotPublisher {
  final List<SnapshotRecord> records = new CopyOnWriteArrayList<>();
  volatile boolean closed;

  @Override
  public void publish(SnapshotRecord record) {
    records.add(record);
  }

  @Override
  public void close(Duration drainTimeout) {
    closed = true;
  }
}
