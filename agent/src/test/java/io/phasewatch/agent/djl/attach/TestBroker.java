package io.phasewatch.agent.djl.attach;

import io.phasewatch.core.wire.ChunkAssembler;
import io.phasewatch.core.wire.DecodeLimits;
import io.phasewatch.core.wire.SnapshotCodec;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.WireFormatException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/** A single-node KRaft broker for one test class, and a reader of decoded snapshots. */
public final class TestBroker {

  private final KafkaClusterTestKit cluster;

  private TestBroker(KafkaClusterTestKit cluster) {
    this.cluster = cluster;
  }

  public static TestBroker start() throws Exception {
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
    return new TestBroker(cluster);
  }

  public String bootstrapServers() {
    return cluster.bootstrapServers();
  }

  public void createTopic(String topic) throws Exception {
    try (var admin = cluster.admin()) {
      admin
          .createTopics(List.of(new NewTopic(topic, 1, (short) 1)))
          .all()
          .get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * Reads {@code topic} from the start until the snapshots decoded so far satisfy {@code done} or
   * {@code timeout} passes; returns them all.
   */
  public List<SnapshotRecord> read(
      String topic, Predicate<List<SnapshotRecord>> done, Duration timeout) {
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
      while (!done.test(out) && System.nanoTime() < deadline) {
        for (var rec : consumer.poll(Duration.ofMillis(200))) {
          try {
            assembler
                .accept(
                    SnapshotCodec.decode(rec.value(), DecodeLimits.defaults()),
                    System.currentTimeMillis())
                .ifPresent(out::add);
          } catch (WireFormatException e) {
            throw new AssertionError("record at offset " + rec.offset() + " does not decode", e);
          }
        }
      }
    }
    return out;
  }

  public void close() throws Exception {
    cluster.close();
  }
}
