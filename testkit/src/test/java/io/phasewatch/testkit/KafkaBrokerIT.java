package io.phasewatch.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.phasewatch.core.sketch.FrequentDirections;
import io.phasewatch.core.wire.SnapshotCodec;
import io.phasewatch.core.wire.SnapshotMetadata;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.Stage;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class KafkaBrokerIT {
  @RegisterExtension static final KafkaBroker KAFKA = KafkaBroker.perClass();

  private static String startedAt;

  @BeforeAll
  static void rememberTheAddress(@BootstrapServers String servers) {
    startedAt = servers;
  }

  private static SnapshotRecord record(String layer, long window, int d) {
    FrequentDirections fd = FrequentDirections.withRows(8, d);
    float[] rows = new float[20 * d];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = (float) Math.sin(0.7 * i + window);
    }
    fd.update(rows, 20);
    return new SnapshotRecord(
        new SnapshotMetadata(
            "kit", Stage.PRETRAIN, 0, 1, layer, window, window, 10 * window, 1_000L, 0),
        fd.snapshot());
  }

  @Test
  void oneBrokerServesTheWholeClassAndItsAddressIsInjected(@BootstrapServers String servers) {
    assertThat(servers).isEqualTo(startedAt).isEqualTo(KAFKA.bootstrapServers());
  }

  @Test
  void snapshotsSentInChunksOverTwoPartitionsAreReadBackWhole() throws Exception {
    String topic = KAFKA.createTopic("chunks", 2);
    SnapshotRecord a = record("a", 1, 48);
    SnapshotRecord b = record("b", 2, 48);
    try (var producer = KAFKA.producer()) {
      SnapshotSender.send(producer, topic, a);
      // 48 × 48 doubles in 2 KiB records: the state travels as several chunks.
      List<byte[]> chunks = SnapshotCodec.encode(b, 2048);
      assertThat(chunks).hasSizeGreaterThan(1);
      for (byte[] c : chunks) {
        producer.send(new ProducerRecord<>(topic, 1, bytes(b.metadata().key()), c, null)).get();
      }
    }
    // The raw send above had no header: only a reaches the reader before it fails on b's chunk.
    assertThatThrownBy(() -> KAFKA.read(topic, SnapshotReader.atLeast(2), Duration.ofSeconds(10)))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("chunks-1 offset")
        .hasMessageContaining("header content-type is null");

    String good = KAFKA.createTopic("chunks-with-header", 2);
    try (var producer = KAFKA.producer()) {
      SnapshotSender.send(producer, good, a);
      for (byte[] c : SnapshotCodec.encode(b, 2048)) {
        SnapshotSender.sendRaw(producer, good, b.metadata().key(), c);
      }
    }
    List<SnapshotRecord> got = KAFKA.read(good, SnapshotReader.atLeast(2), Duration.ofSeconds(30));
    assertThat(got).containsExactlyInAnyOrder(a, b);
  }

  @Test
  void aRecordThatDoesNotDecodeFailsTheReadNamingItsOffset() throws Exception {
    String topic = KAFKA.createTopic("garbage");
    try (var producer = KAFKA.producer()) {
      SnapshotSender.send(producer, topic, record("a", 1, 4));
      SnapshotSender.sendRaw(
          producer, topic, "kit/a", "not a snapshot".getBytes(StandardCharsets.UTF_8));
    }
    assertThatThrownBy(() -> KAFKA.read(topic, r -> false, Duration.ofSeconds(10)))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("garbage-0 offset 1 does not decode");
  }

  @Test
  void aSnapshotUnderAnotherKeyFailsTheRead() throws Exception {
    String topic = KAFKA.createTopic("wrong-key");
    SnapshotRecord a = record("a", 1, 4);
    try (var producer = KAFKA.producer()) {
      for (byte[] c : SnapshotCodec.encode(a, SnapshotCodec.DEFAULT_MAX_RECORD_BYTES)) {
        SnapshotSender.sendRaw(producer, topic, "kit/other", c);
      }
    }
    assertThatThrownBy(() -> KAFKA.read(topic, r -> false, Duration.ofSeconds(10)))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("key kit/other, expected " + a.metadata().key());
  }

  @Test
  void distinctWindowsCountsARepeatedSnapshotOnce() throws Exception {
    String topic = KAFKA.createTopic("repeats");
    try (var producer = KAFKA.producer()) {
      SnapshotSender.send(producer, topic, record("a", 1, 4));
      SnapshotSender.send(producer, topic, record("a", 1, 4));
      SnapshotSender.send(producer, topic, record("a", 2, 4));
    }
    List<SnapshotRecord> got =
        KAFKA.read(topic, SnapshotReader.distinctWindows(2), Duration.ofSeconds(30));
    assertThat(got).extracting(r -> r.metadata().windowId()).containsExactly(1L, 1L, 2L);
    assertThat(SnapshotReader.distinctWindows(3).test(got)).isFalse();
  }

  @Test
  void aProducerReachesTheBrokerAgainAfterAnOutage() throws Exception {
    String topic = KAFKA.createTopic("outage");
    KAFKA.stopServing();
    KAFKA.restore();
    try (var producer = KAFKA.producer()) {
      SnapshotSender.send(producer, topic, record("a", 1, 4));
    }
    assertThat(KAFKA.read(topic, SnapshotReader.atLeast(1), Duration.ofSeconds(30))).hasSize(1);
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
