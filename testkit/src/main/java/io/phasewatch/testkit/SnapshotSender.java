package io.phasewatch.testkit;

import io.phasewatch.core.wire.SnapshotCodec;
import io.phasewatch.core.wire.SnapshotRecord;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Writes snapshots to a topic as the agent's publisher does (v1 chunks under the snapshot's key,
 * with the content-type header), or raw bytes in the same envelope for tests of what the collector
 * rejects. Each send waits for its acknowledgement.
 */
public final class SnapshotSender {

  private SnapshotSender() {}

  /** Encodes {@code record} in chunks of the default record size and sends each. */
  public static void send(Producer<byte[], byte[]> producer, String topic, SnapshotRecord record)
      throws Exception {
    for (byte[] value : SnapshotCodec.encode(record, SnapshotCodec.DEFAULT_MAX_RECORD_BYTES)) {
      sendRaw(producer, topic, record.metadata().key(), value);
    }
  }

  /** Sends {@code value} as it is, under {@code key}, with the v1 content-type header. */
  public static void sendRaw(
      Producer<byte[], byte[]> producer, String topic, String key, byte[] value) throws Exception {
    ProducerRecord<byte[], byte[]> rec =
        new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value);
    rec.headers()
        .add(
            SnapshotCodec.CONTENT_TYPE_HEADER,
            SnapshotCodec.CONTENT_TYPE.getBytes(StandardCharsets.UTF_8));
    producer.send(rec).get(30, TimeUnit.SECONDS);
  }
}
