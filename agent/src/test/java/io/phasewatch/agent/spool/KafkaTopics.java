package io.phasewatch.agent.spool;

import static org.assertj.core.api.Assertions.assertThat;

import io.phasewatch.core.wire.ChunkAssembler;
import io.phasewatch.core.wire.DecodeLimits;
import io.phasewatch.core.wire.SnapshotCodec;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.WireFormatException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/** A single-node KRaft broker for the sidecar's ITs, and a plain consumer that decodes v1. */
final class KafkaTopics {
  private KafkaTopics() {}

  static KafkaClusterTestKit start() throws Exception {
    var cluster =
        new KafkaClusterTestKit.Builder(
                new TestKitNodes.Builder()
                    .setCombined(true)
                    .setNumBrokerNodes(1)
                    .setNumControllerNodes(1)
                    .build())
            .build();
    cluster.format();
    cluster.startup();
    cluster.waitForReadyBrokers();
    return cluster;
  }

  static void create(KafkaClusterTestKit cluster, String topic) throws Exception {
    try (var admin = cluster.admin()) {
      admin
          .createTopics(List.of(new NewTopic(topic, 1, (short) 1)))
          .all()
          .get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * Reads the topic from the start until {@code n} snapshots decoded, then on for {@code quiet}
   * more to catch any extra one; fails on a record that does not decode.
   */
  static List<SnapshotRecord> consume(
      KafkaClusterTestKit cluster, String topic, int n, Duration timeout, Duration quiet) {
    var props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers());
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    props.put(
        ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    List<SnapshotRecord> out = new ArrayList<>();
    ChunkAssembler assembler = ChunkAssembler.withDefaults();
    try (var consumer = new KafkaConsumer<String, byte[]>(props)) {
      var tp = new TopicPartition(topic, 0);
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      long deadline = System.nanoTime() + timeout.toNanos();
      long quietUntil = Long.MAX_VALUE;
      while (System.nanoTime() < Math.min(deadline, quietUntil)) {
        for (ConsumerRecord<String, byte[]> rec : consumer.poll(Duration.ofMillis(200))) {
          assertThat(
                  new String(
                      rec.headers().lastHeader(SnapshotCodec.CONTENT_TYPE_HEADER).value(),
                      StandardCharsets.UTF_8))
              .isEqualTo(SnapshotCodec.CONTENT_TYPE);
          try {
            var whole =
                assembler.accept(
                    SnapshotCodec.decode(rec.value(), DecodeLimits.defaults()),
                    System.currentTimeMillis());
            if (whole.isPresent()) {
              assertThat(rec.key()).isEqualTo(whole.get().metadata().key());
              out.add(whole.get());
            }
          } catch (WireFormatException e) {
            throw new AssertionError("record at offset " + rec.offset() + " does not decode", e);
          }
        }
        if (out.size() >= n && quietUntil == Long.MAX_VALUE) {
          quietUntil = System.nanoTime() + quiet.toNanos();
        }
      }
    }
    return out;
  }
}
