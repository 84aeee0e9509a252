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
import java.util.Arrays;
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
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
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

  /**
   * The dead-letter producer's request bound. It must exceed the decoder's record limit: the
   * records it copies include those refused as {@code too_large}, which the source topic held, so
   * the broker took them. (The dead-letter topic's own {@code max.message.bytes} must be as large
   * as the source topic's; docs/operations.md says so.)
   */
  static final int DLQ_MAX_REQUEST_BYTES = 64 << 20;

  /** How often the loop asks the broker for the end offsets: the lag and the readiness. */
  static final long BROKER_CHECK_MILLIS = 2_000;

  static final Duration BROKER_CHECK_TIMEOUT = Duration.ofSeconds(2);

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
  // The partitions whose layers this instance holds (assigned now, or assigned before the current
  // rebalance), and the next offset to read in each.
  private final Set<TopicPartition> held = new HashSet<>();
  private final Map<TopicPartition, Long> nextOffset = new HashMap<>();
  // Partitions read from their start since their assignment and not yet to their end: their
  // layers' windows are replayed history, published only once the partition is caught up.
  private final Set<Integer> replaying = new HashSet<>();
  private boolean brokerAnswers;
  private boolean outage;
  private long lastBrokerCheck = Long.MIN_VALUE;
  private volatile boolean running = true;

  public KafkaIngest(CollectorConfig config, CollectorMetrics metrics, WindowSink sink) {
    this.config = config;
    this.metrics = metrics;
    metrics.declareRejectionReasons(Admission.rejectionLabels());
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
    Properties p = c.kafka().clientProperties(ConsumerConfig.configNames());
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, c.kafka().bootstrapServers());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, c.kafka().groupId());
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, c.kafka().groupId() + "-ingest");
    // Offsets are never committed: state is rebuilt from the earliest retained offset.
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    // Cooperative and sticky: a rebalance moves only the partitions that must move, and takes them
    // from their old owner in one round before giving them to the new one in the next, so a layer
    // is never published by two instances at once and the partitions that stay are not replayed.
    p.putIfAbsent(
        ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
        CooperativeStickyAssignor.class.getName());
    int fetch = Math.max(1 << 20, c.limits().maxRecordBytes() + 1_024);
    p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, fetch);
    p.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, Math.max(52_428_800, fetch));
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    return p;
  }

  static Properties producerProperties(CollectorConfig c) {
    Properties p = c.kafka().clientProperties(ProducerConfig.configNames());
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, c.kafka().bootstrapServers());
    p.put(ProducerConfig.CLIENT_ID_CONFIG, c.kafka().groupId() + "-dlq");
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    int request = Math.max(DLQ_MAX_REQUEST_BYTES, c.limits().maxRecordBytes() + (1 << 20));
    p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, request);
    // A record larger than the buffer is refused by the producer itself; the buffer is allocated
    // on demand, not up front.
    p.put(ProducerConfig.BUFFER_MEMORY_CONFIG, Math.max(32L << 20, 2L * request));
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
        for (ConsumerRecord<byte[], byte[]> r : records) {
          handle(r);
        }
        if (!records.isEmpty()) {
          // A fetch came back: a broker answers, whatever the last check found.
          brokerAnswers = true;
          metrics.consumerReady(!assigned.isEmpty());
        }
        boolean caughtUp = checkBroker();
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
    WindowMerger.Offer offer =
        keyMatches(r.key(), snapshot)
            ? merger.offer(snapshot, partition, time)
            : new WindowMerger.Offer(Admission.KEY_MISMATCH, List.of());
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
                  + (offer.admission() == Admission.KEY_MISMATCH
                      ? " (key="
                          + (r.key() == null ? "none" : new String(r.key(), StandardCharsets.UTF_8))
                          + ", body run/layer="
                          + snapshot.metadata().key()
                          + ")"
                      : "")
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

  /** The record key a producer must use: the body's {@code run/layer}, UTF-8. */
  private static boolean keyMatches(byte[] key, SnapshotRecord snapshot) {
    return key != null && Arrays.equals(key, utf8(snapshot.metadata().key()));
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
      if (replaying.contains(merger.partitionOf(w.run(), w.layer()))) {
        sink.acceptReplayed(w);
      } else {
        sink.accept(w);
      }
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

  /**
   * Every {@link #BROKER_CHECK_MILLIS}, reads the end offsets of the assigned partitions from the
   * broker: the lag, and whether a broker answers at all. The client's own lag ({@code currentLag})
   * is the one of its last fetch and reads 0 through a broker outage, so readiness and lag follow
   * this check instead: while no broker answers the consumer is not ready and its lag is unknown
   * (NaN), which lets {@code PhasewatchCollectorNotConsuming} fire. Returns true when every
   * assigned partition is known to be read to its end; while no broker answers it is false, so
   * windows wait in record time for parts the agents still hold.
   */
  private boolean checkBroker() {
    long now = System.currentTimeMillis();
    if (assigned.isEmpty()) {
      metrics.consumerReady(false);
      return false;
    }
    if (lastBrokerCheck != Long.MIN_VALUE && now - lastBrokerCheck < BROKER_CHECK_MILLIS) {
      return brokerAnswers && currentLag() == 0;
    }
    lastBrokerCheck = now;
    long lag = 0;
    List<Integer> caughtUp = new java.util.ArrayList<>();
    try {
      Map<TopicPartition, Long> ends = consumer.endOffsets(assigned, BROKER_CHECK_TIMEOUT);
      for (TopicPartition tp : assigned) {
        long position = consumer.position(tp, BROKER_CHECK_TIMEOUT);
        long behind = Math.max(0, ends.getOrDefault(tp, position) - position);
        lag += behind;
        if (behind == 0) {
          caughtUp.add(tp.partition());
        }
      }
    } catch (org.apache.kafka.common.errors.TimeoutException e) {
      // Logged once per outage, not per check.
      if (!outage) {
        outage = true;
        LOG.warning(
            "no broker answered within "
                + BROKER_CHECK_TIMEOUT.toMillis()
                + " ms ("
                + e.getMessage()
                + "): not ready, lag unknown");
      }
      brokerAnswers = false;
      metrics.consumerReady(false);
      metrics.consumerLagUnknown();
      return false;
    }
    if (outage) {
      outage = false;
      LOG.info("a broker answers again: ready, " + lag + " records behind");
    }
    brokerAnswers = true;
    metrics.consumerReady(true);
    metrics.consumerLag(lag);
    for (int partition : caughtUp) {
      if (replaying.remove(partition)) {
        for (WindowMerger.Series s : merger.layersOn(partition)) {
          sink.reveal(s.run(), s.layer());
        }
      }
    }
    return lag == 0;
  }

  /** The client's lag from its last fetch; -1 when some partition's is not known yet. */
  private long currentLag() {
    long lag = 0;
    for (TopicPartition tp : assigned) {
      OptionalLong l = consumer.currentLag(tp);
      if (l.isEmpty()) {
        return -1;
      }
      lag += l.getAsLong();
    }
    return lag;
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
   * A partition new to this process is read from its earliest retained offset, to rebuild its
   * layers; one it held before the rebalance and keeps goes on where it stopped, since its state is
   * still here. A partition that went to another instance is released: its layers are forgotten and
   * their series end here, since the new owner rebuilds and publishes them. So every series has one
   * owner at a time and a rebalance reads no record twice on one instance (no late parts, no
   * duplicates, no dead-letter copies).
   *
   * <p>Eager assignors revoke every partition and then assign the new set; cooperative ones revoke
   * and assign only what moves. Comparing what is held with the assignment once the new one is
   * known serves both.
   */
  private final class Rebuild implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      Set<TopicPartition> now = consumer.assignment();
      for (TopicPartition tp : List.copyOf(held)) {
        if (!now.contains(tp)) {
          release(tp);
        }
      }
      assigned.clear();
      assigned.addAll(now);
      List<TopicPartition> fresh = new java.util.ArrayList<>();
      for (TopicPartition tp : partitions) {
        Long next = nextOffset.get(tp);
        if (next == null) {
          fresh.add(tp);
          replaying.add(tp.partition());
        } else {
          consumer.seek(tp, next);
        }
        held.add(tp);
      }
      // An empty collection would mean "every assigned partition" to the client: rewinding the
      // partitions just continued above, so every record of theirs would be read twice.
      if (!fresh.isEmpty()) {
        consumer.seekToBeginning(fresh);
      }
      lastBrokerCheck = Long.MIN_VALUE;
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      assigned.removeAll(partitions);
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      // Lost, not revoked: another instance may own them already.
      assigned.removeAll(partitions);
      partitions.forEach(KafkaIngest.this::release);
    }
  }

  private void release(TopicPartition tp) {
    held.remove(tp);
    nextOffset.remove(tp);
    replaying.remove(tp.partition());
    recordTime.remove(tp.partition());
    assemblers.remove(tp.partition());
    List<WindowMerger.Series> layers = merger.release(tp.partition());
    for (WindowMerger.Series s : layers) {
      sink.release(s.run(), s.layer());
    }
    LOG.info(
        "partition " + tp + " moved to another instance: " + layers.size() + " layers released");
  }
}
