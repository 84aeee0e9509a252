package io.phasewatch.testkit;

import io.phasewatch.core.wire.ChunkAssembler;
import io.phasewatch.core.wire.DecodeLimits;
import io.phasewatch.core.wire.SnapshotCodec;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.WireFormatException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Reads a topic back as a collector would, but with a plain consumer and no group: every partition
 * from its start, chunks reassembled, each record checked against the contract of
 * docs/wire-format.md (the content-type header, the v1 frame, the key) and a violation thrown as an
 * {@link AssertionError} naming the record's partition and offset.
 */
public final class SnapshotReader {

  private static final Duration POLL = Duration.ofMillis(200);

  private SnapshotReader() {}

  /**
   * Reads {@code topic} until the snapshots decoded so far satisfy {@code done} or {@code timeout}
   * passes, and returns them all in the order they completed (a partition's order is kept). {@code
   * r -> false} reads for the whole timeout: what a test uses to see that nothing more arrives.
   */
  public static List<SnapshotRecord> read(
      String bootstrapServers,
      String topic,
      Predicate<List<SnapshotRecord>> done,
      Duration timeout) {
    return read(bootstrapServers, topic, done, timeout, Duration.ZERO);
  }

  /**
   * As {@link #read(String, String, Predicate, Duration)}, then on for {@code quiet} more once
   * {@code done} holds, to catch a snapshot that should not be there (one sent twice, say).
   */
  public static List<SnapshotRecord> read(
      String bootstrapServers,
      String topic,
      Predicate<List<SnapshotRecord>> done,
      Duration timeout,
      Duration quiet) {
    var props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    props.put(
        ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    List<SnapshotRecord> out = new ArrayList<>();
    ChunkAssembler assembler = ChunkAssembler.withDefaults();
    long deadline = System.nanoTime() + timeout.toNanos();
    try (var consumer = new KafkaConsumer<String, byte[]>(props)) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic, timeout).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      boolean satisfied = false;
      while (System.nanoTime() < deadline) {
        if (!satisfied && done.test(out)) {
          satisfied = true;
          deadline = Math.min(deadline, System.nanoTime() + quiet.toNanos());
          continue;
        }
        for (ConsumerRecord<String, byte[]> rec : consumer.poll(POLL)) {
          check(rec, assembler).ifPresent(out::add);
        }
      }
    }
    return out;
  }

  /** A condition for {@link #read}: at least {@code n} snapshots. */
  public static Predicate<List<SnapshotRecord>> atLeast(int n) {
    return got -> got.size() >= n;
  }

  /**
   * A condition for {@link #read}: at least {@code n} distinct (layer, rank, window) snapshots. A
   * snapshot re-sent after a timed-out acknowledgement arrives twice (the collector counts it as a
   * duplicate); this waits for {@code n} different ones.
   */
  public static Predicate<List<SnapshotRecord>> distinctWindows(int n) {
    return got ->
        got.stream()
                .map(
                    r ->
                        r.metadata().layer()
                            + "#"
                            + r.metadata().rank()
                            + "@"
                            + r.metadata().windowId())
                .distinct()
                .count()
            >= n;
  }

  private static Optional<SnapshotRecord> check(
      ConsumerRecord<String, byte[]> rec, ChunkAssembler assembler) {
    String where = rec.topic() + "-" + rec.partition() + " offset " + rec.offset();
    Header type = rec.headers().lastHeader(SnapshotCodec.CONTENT_TYPE_HEADER);
    String contentType = type == null ? null : new String(type.value(), StandardCharsets.UTF_8);
    if (!SnapshotCodec.CONTENT_TYPE.equals(contentType)) {
      throw new AssertionError(
          where
              + ": header "
              + SnapshotCodec.CONTENT_TYPE_HEADER
              + " is "
              + contentType
              + ", expected "
              + SnapshotCodec.CONTENT_TYPE);
    }
    Optional<SnapshotRecord> whole;
    try {
      whole =
          assembler.accept(
              SnapshotCodec.decode(rec.value(), DecodeLimits.defaults()),
              System.currentTimeMillis());
    } catch (WireFormatException e) {
      throw new AssertionError(where + " does not decode", e);
    }
    whole.ifPresent(
        r -> {
          if (!r.metadata().key().equals(rec.key())) {
            throw new AssertionError(
                where + ": key " + rec.key() + ", expected " + r.metadata().key());
          }
        });
    return whole;
  }
}
