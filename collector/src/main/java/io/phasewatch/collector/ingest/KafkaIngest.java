package io.phasewatch.collector.ingest;

import io.phasewatch.collector.config.CollectorConfig;
import io.phasewatch.collector.metrics.CollectorMetrics;
import io.phasewatch.core.wire.ChunkAssembler;
import io.phasewatch.core.wire.DecodeLimits;
import io.phasewatch.core.wire.DecodedChunk;
import io.phasewatch.core.wire.SnapshotCodec;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.WireFormatException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The consumer loop, on its own thread (plain kafka-clients; a {@code KafkaConsumer} is
 * single-threaded by contract). Per record: decode and check (wire format v1), reassemble chunks,
 * admit into the {@link WindowMerger}, hand closed windows to the {@link WindowSink}. A record that
 * fails is counted by reason and copied to the dead-letter topic; the loop goes on.
 *
 * <p>State is rebuilt, not stored: offsets are never committed, and every partition this instance
 * is assigned is read from its earliest retained offset. Time inside the loop is record time (the
 * Kafka record timestamps) per partition, and wall-clock time only once every assigned partition is
 * caught up, so the re-read closes the same windows in the same way as the first read did.
 */
public final class KafkaIngest implements Runnable, AutoCloseable {

  /** Headers on a dead-letter copy. Its key is {@code topic/partition/offset} of the original. */
  public static final String H_REASON = "phasewatch.reason";

  public static final String H_FIELD = "phasewatch.field";
  public static final String H_ERROR = "phasewatch.error";
  public static final String H_SOURCE_TOPIC = "phasewatch.source.topic";
  public static final String H_SOURCE_PARTITION = "phasewatch.source.partition";
  public static final String H_SOURCE_OFFSET = "phasewatch.source.offset";
  public static final String H_SOURCE_KEY = "phasewatch.source.key";

  private static final Logger LOG = Logger.getLogger(KafkaIngest.class.getName());
  private static final int MAX_ERROR_HEADER = 1_024;

  private final CollectorConfig config;
  private final CollectorMetrics metrics;
  private final WindowSink sink;
  private final DecodeLimits limits;
  private final WindowMerger merger;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final KafkaProducer<byte[], byte[]> dlq;
  private final Map<Integer, ChunkAssembler> assemblers = new HashMap<>();
  private final Map<Integer, Long> recordTime = new HashMap<>();
  private final Set<TopicPartition> assigned = new HashSet<>();
  private final Map<TopicPartition, Long> nextOffset = new HashMap<>();
  private volatile boolean running = true;

  public KafkaIngest(CollectorConfig config, CollectorMetrics metrics, WindowSink sink) {
    this.config = config;
    this.metrics = metrics;
    this.sink = sink;
    CollectorConfig.Limits l = config.limits();
    this.limits =
        new DecodeLimits(
            l.maxDimension(), l.maxEll(), 256, 1_024, l.maxSnapshotBytes(), l.maxRecordBytes());
    CollectorConfig.Merge m = config.merge();
    this.merger =
        WindowMerger.bounded(
            m.timeoutMillis(),
            l.maxRuns(),
            l.maxLayersPerRun(),
            m.maxPendingWindowsPerLayer(),
            m.maxPendingBytes(),
            m.rememberedWindows());
    this.consumer = new KafkaConsumer<>(consumerProperties(config));
    this.dlq = new KafkaProducer<>(producerProperties(config));
  }

  static Properties consumerProperties(CollectorConfig c) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, c.kafka().bootstrapServers());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, c.kafka().groupId());
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, c.kafka().groupId() + "-ingest");
    // Offsets are never committed: state is rebuilt from the earliest retained offset.
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    int fetch = Math.max(1 << 20, c.limits().maxRecordBytes() + 1_024);
    p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, fetch);
    p.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, Math.max(52_428_800, fetch));
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    return p;
  }

  static Properties producerProperties(CollectorConfig c) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, c.kafka().bootstrapServers());
    p.put(ProducerConfig.CLIENT_ID_CONFIG, c.kafka().groupId() + "-dlq");
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Math.max(1 << 20, c.limits().maxRecordBytes()));
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    return p;
  }

  @Override
  public void run() {
    try {
      consumer.subscribe(List.of(config.kafka().topic()), new Rebuild());
      Duration pollTimeout = Duration.ofMillis(config.kafka().pollTimeoutMillis());
      while (running) {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(pollTimeout);
        metrics.consumerReady(!consumer.assignment().isEmpty());
        for (ConsumerRecord<byte[], byte[]> r : records) {
          handle(r);
        }
        boolean caughtUp = updateLag();
        if (caughtUp) {
          long now = System.currentTimeMillis();
          for (TopicPartition tp : assigned) {
            recordTime.merge(tp.partition(), now, Math::max);
          }
        }
        expire();
        if (caughtUp) {
          for (String run :
              merger.evictIdle(
                  System.currentTimeMillis(), config.limits().runIdleTimeoutMillis())) {
            LOG.info("run " + run + " idle, evicted");
            sink.evict(run);
          }
        }
      }
    } catch (WakeupException e) {
      if (running) {
        throw e;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      LOG.log(Level.SEVERE, "ingest loop stopped", e);
      throw e;
    } finally {
      metrics.consumerReady(false);
      consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
      dlq.close(Duration.ofSeconds(5));
    }
  }

  // Ingest thread only.
  private boolean loggedFirstSnapshot;

  private void handle(ConsumerRecord<byte[], byte[]> r) throws InterruptedException {
    int partition = r.partition();
    nextOffset.put(new TopicPartition(r.topic(), partition), r.offset() + 1);
    long time = recordTime.merge(partition, r.timestamp(), Math::max);
    if (r.value() == null) {
      deadLetter(r, "truncated", "value", "record has no value");
      return;
    }
    Optional<SnapshotRecord> decoded;
    try {
      DecodedChunk chunk = SnapshotCodec.decode(r.value(), limits);
      decoded = assembler(partition).accept(chunk, time);
    } catch (WireFormatException e) {
      deadLetter(r, e.reason().label(), e.field(), e.getMessage());
      return;
    }
    if (decoded.isEmpty()) {
      return;
    }
    SnapshotRecord snapshot = decoded.get();
    WindowMerger.Offer offer = merger.offer(snapshot, partition, time);
    switch (offer.admission()) {
      case ACCEPTED -> {
        metrics.ingested(snapshot.metadata().captureTimeMillis());
        if (!loggedFirstSnapshot) {
          loggedFirstSnapshot = true;
          LOG.info(
              "first snapshot arrived from "
                  + r.topic()
                  + "/"
                  + partition
                  + ": run="
                  + snapshot.metadata().runId()
                  + ", layer="
                  + snapshot.metadata().layer()
                  + ", rank "
                  + snapshot.metadata().rank()
                  + " of "
                  + snapshot.metadata().worldSize()
                  + ", step "
                  + snapshot.metadata().step());
        }
      }
      case DUPLICATE -> metrics.duplicate();
      default ->
          deadLetter(
              r,
              offer.admission().label(),
              "metadata",
              offer.admission().label()
                  + " (run="
                  + snapshot.metadata().runId()
                  + ", layer="
                  + snapshot.metadata().layer()
                  + ", rank="
                  + snapshot.metadata().rank()
                  + ", window="
                  + snapshot.metadata().windowId()
                  + ")");
    }
    deliver(offer.closed());
  }

  private void expire() throws InterruptedException {
    for (Map.Entry<Integer, ChunkAssembler> e : assemblers.entrySet()) {
      int expired = e.getValue().expire(recordTime.getOrDefault(e.getKey(), 0L));
      if (expired > 0) {
        metrics.rejected("chunk_timeout", expired);
      }
    }
    deliver(merger.expire(p -> recordTime.getOrDefault(p, 0L)));
  }

  private void deliver(Collection<MergedWindow> windows) throws InterruptedException {
    for (MergedWindow w : windows) {
      metrics.merged(w.complete(), w.waitMillis());
      sink.accept(w);
    }
  }

  private ChunkAssembler assembler(int partition) {
    return assemblers.computeIfAbsent(
        partition,
        p ->
            ChunkAssembler.bounded(
                config.chunks().maxPendingSnapshots(),
                config.chunks().maxPendingBytes(),
                config.chunks().timeoutMillis(),
                limits));
  }

  /** True when every assigned partition's position is at its end. */
  private boolean updateLag() {
    if (assigned.isEmpty()) {
      return false;
    }
    long lag = 0;
    boolean known = true;
    for (TopicPartition tp : assigned) {
      OptionalLong l = consumer.currentLag(tp);
      if (l.isPresent()) {
        lag += l.getAsLong();
      } else {
        known = false;
      }
    }
    metrics.consumerLag(lag);
    return known && lag == 0;
  }

  private void deadLetter(
      ConsumerRecord<byte[], byte[]> r, String reason, String field, String error) {
    metrics.rejected(reason);
    LOG.warning(
        "record "
            + r.topic()
            + "/"
            + r.partition()
            + "@"
            + r.offset()
            + " set aside ("
            + reason
            + "): "
            + error);
    RecordHeaders h = new RecordHeaders();
    h.add(H_REASON, utf8(reason));
    h.add(H_FIELD, utf8(field));
    h.add(
        H_ERROR,
        utf8(error.length() > MAX_ERROR_HEADER ? error.substring(0, MAX_ERROR_HEADER) : error));
    h.add(H_SOURCE_TOPIC, utf8(r.topic()));
    h.add(H_SOURCE_PARTITION, utf8(Integer.toString(r.partition())));
    h.add(H_SOURCE_OFFSET, utf8(Long.toString(r.offset())));
    if (r.key() != null) {
      h.add(H_SOURCE_KEY, r.key());
    }
    byte[] key = utf8(r.topic() + "/" + r.partition() + "/" + r.offset());
    dlq.send(
        new ProducerRecord<>(config.kafka().dlqTopic(), null, r.timestamp(), key, r.value(), h),
        (meta, err) -> {
          if (err != null) {
            LOG.warning(
                "dead-letter copy of "
                    + new String(key, StandardCharsets.UTF_8)
                    + " failed: "
                    + err.getMessage());
          }
        });
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Stops the loop; returns at once, the thread closes the clients on its way out. */
  @Override
  public void close() {
    running = false;
    consumer.wakeup();
  }

  /**
   * A partition new to this process is read from its start, to rebuild its state; one it held
   * before (revoked and given back by a rebalance) goes on where it stopped, since its state is
   * still here. Without this, a rebalance would count its records twice.
   */
  private final class Rebuild implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      assigned.addAll(partitions);
      List<TopicPartition> fresh = new java.util.ArrayList<>();
      for (TopicPartition tp : partitions) {
        Long next = nextOffset.get(tp);
        if (next == null) {
          fresh.add(tp);
        } else {
          consumer.seek(tp, next);
        }
      }
      consumer.seekToBeginning(fresh);
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      assigned.removeAll(partitions);
    }
  }
}
