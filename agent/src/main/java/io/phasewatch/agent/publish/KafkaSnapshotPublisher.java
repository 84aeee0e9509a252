package io.phasewatch.agent.publish;

import static io.phasewatch.agent.metrics.AgentMetricNames.*;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.phasewatch.agent.config.AgentConfig;
import io.phasewatch.core.wire.SnapshotRecord;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Delivers snapshots to Kafka in the order they were published, one snapshot at a time, from a
 * sender thread of its own. While the broker is away, snapshots wait in a bounded {@link
 * PendingStore} (heap, or a disk spool that survives a restart) and the head is retried with
 * exponential backoff. The idempotent producer ({@code acks=all}) keeps a retried batch from being
 * written twice; a snapshot re-sent after a timeout may still arrive twice, which the collector
 * counts as a duplicate of its (run, rank, layer, window).
 */
public final class KafkaSnapshotPublisher implements SnapshotPublisher {
  private static final Logger LOG = Logger.getLogger(KafkaSnapshotPublisher.class.getName());

  /**
   * How long a missing-topic metadata timeout may last before it is logged. A fresh producer's
   * first send regularly waits longer than {@code max.block.ms} for the topic's metadata while it
   * connects, and Kafka words that as "Topic … not present in metadata": a warning then would claim
   * a missing topic that exists. Past this grace the topic is really absent (or the broker
   * unreachable), and the warning says so.
   */
  static final Duration METADATA_GRACE = Duration.ofSeconds(15);

  private final AgentConfig.Publish config;
  private final SnapshotEncoder encoder;
  private final Map<String, Object> producerConfig;
  private final PendingStore store;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition work = lock.newCondition();
  private final Thread sender;
  private final MeterRegistry registry;
  private final Counter published;
  private final Counter failures;
  private final Timer latency;
  private final AtomicBoolean loggedFailure = new AtomicBoolean();
  private final AtomicBoolean loggedEncode = new AtomicBoolean();
  private final AtomicBoolean loggedFirstDelivery = new AtomicBoolean();
  private final long deliveryTimeoutMs;
  private long nextSequence;
  // Sender thread only: when the current run of failed sends began; 0 while sends succeed.
  private long failingSinceNanos;
  private volatile boolean stopping;
  private volatile long drainDeadlineNanos;
  private Producer<String, byte[]> producer;

  private KafkaSnapshotPublisher(
      AgentConfig.Publish config,
      SnapshotEncoder encoder,
      MeterRegistry registry,
      PendingStore store) {
    this.config = config;
    this.encoder = encoder;
    this.registry = registry;
    this.store = store;
    this.nextSequence = store.nextSequence();
    this.producerConfig = producerConfig(config);
    this.deliveryTimeoutMs =
        Long.parseLong(
            String.valueOf(producerConfig.get(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG)));
    this.published = Counter.builder(WINDOWS_PUBLISHED).register(registry);
    this.failures = Counter.builder(PUBLISH_FAILURES).register(registry);
    this.latency =
        Timer.builder(PUBLISH_LATENCY)
            .description("from handing a snapshot over to the broker's acknowledgement")
            .register(registry);
    Gauge.builder(PUBLISH_PENDING, this, p -> p.pendingSnapshots()).register(registry);
    Gauge.builder(PUBLISH_PENDING_BYTES, this, p -> p.pendingBytes()).register(registry);
    this.sender =
        new Thread(
            this::sendLoop,
            "phasewatch-publisher-" + producerConfig.get(ProducerConfig.CLIENT_ID_CONFIG));
    sender.setDaemon(true);
  }

  /**
   * Starts a publisher; its sender thread connects lazily, so a broker that is down now costs
   * nothing but retries. Fails only if a configured spool directory cannot be opened.
   */
  public static KafkaSnapshotPublisher start(
      AgentConfig.Publish config, SnapshotEncoder encoder, MeterRegistry registry)
      throws IOException {
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(encoder, "encoder");
    Objects.requireNonNull(registry, "registry");
    PendingStore store =
        config.spoolDir().isPresent()
            ? new SpoolStore(config.spoolDir().get(), config.spoolMaxBytes())
            : new MemoryStore(config.bufferSnapshots(), config.bufferBytes());
    var p = new KafkaSnapshotPublisher(config, encoder, registry, store);
    p.sender.start();
    return p;
  }

  /** The producer settings: ours first, then every {@code kafka.*} key, which wins. */
  static Map<String, Object> producerConfig(AgentConfig.Publish config) {
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    // lz4: kafka-clients falls back to a pure-Java codec where the native library cannot load.
    p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    // Only the sender thread calls send(); a short block keeps it responsive to close().
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "1000");
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "30000");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    // Room for one chunk plus Kafka's record and batch overhead.
    p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(config.maxRecordBytes() + 65_536));
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "phasewatch-agent");
    p.putAll(config.kafka());
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    return p;
  }

  @Override
  public void publish(SnapshotRecord record) {
    if (stopping) {
      dropped("closed");
      return;
    }
    List<byte[]> chunks;
    try {
      chunks = encoder.encode(record, config.maxRecordBytes());
    } catch (RuntimeException e) {
      if (loggedEncode.compareAndSet(false, true)) {
        LOG.log(Level.WARNING, "phasewatch: cannot encode a snapshot; counting and skipping", e);
      }
      dropped("encode_failed");
      return;
    }
    lock.lock();
    try {
      store.append(
          new Pending(nextSequence++, record.metadata().key(), chunks, System.nanoTime()),
          this::dropped);
      work.signal();
    } catch (RuntimeException e) {
      if (loggedEncode.compareAndSet(false, true)) {
        LOG.log(Level.WARNING, "phasewatch: cannot buffer a snapshot; counting and skipping", e);
      }
      dropped("spool_io");
    } finally {
      lock.unlock();
    }
  }

  /** Snapshots waiting for the broker. */
  public int pendingSnapshots() {
    lock.lock();
    try {
      return store.size();
    } finally {
      lock.unlock();
    }
  }

  private long pendingBytes() {
    lock.lock();
    try {
      return store.bytes();
    } finally {
      lock.unlock();
    }
  }

  private void dropped(String reason) {
    snapshotsDropped(registry, reason).increment();
  }

  private void sendLoop() {
    long backoffNanos = config.retryBackoff().toNanos();
    while (true) {
      Pending head;
      lock.lock();
      try {
        head = store.peek(this::dropped);
        while (head == null && !stopping) {
          work.await(200, TimeUnit.MILLISECONDS);
          head = store.peek(this::dropped);
        }
      } catch (InterruptedException e) {
        break;
      } finally {
        lock.unlock();
      }
      if (head == null || (stopping && System.nanoTime() - drainDeadlineNanos > 0)) {
        break;
      }
      try {
        send(head);
        lock.lock();
        try {
          store.removeHead();
        } finally {
          lock.unlock();
        }
        published.increment();
        if (head.enqueuedNanos() != 0) {
          latency.record(System.nanoTime() - head.enqueuedNanos(), TimeUnit.NANOSECONDS);
        }
        if (loggedFailure.compareAndSet(true, false)) {
          LOG.info("phasewatch: broker reachable again; delivering buffered snapshots in order");
        }
        if (loggedFirstDelivery.compareAndSet(false, true)) {
          LOG.info(
              "phasewatch: first snapshot delivered to "
                  + config.topic()
                  + " ("
                  + head.key()
                  + ", "
                  + head.chunks().size()
                  + (head.chunks().size() == 1 ? " record" : " records")
                  + ")");
        }
        failingSinceNanos = 0;
        backoffNanos = config.retryBackoff().toNanos();
      } catch (InterruptedException e) {
        break;
      } catch (Exception e) {
        failures.increment();
        long now = System.nanoTime();
        if (failingSinceNanos == 0) {
          failingSinceNanos = now;
        }
        boolean withinGrace =
            isMissingTopicMetadata(e) && now - failingSinceNanos < METADATA_GRACE.toNanos();
        if (!withinGrace && loggedFailure.compareAndSet(false, true)) {
          LOG.log(
              Level.WARNING,
              "phasewatch: cannot publish to Kafka ("
                  + e
                  + (isMissingTopicMetadata(e)
                      ? "; no metadata for topic "
                          + config.topic()
                          + " for "
                          + Duration.ofNanos(now - failingSinceNanos).toSeconds()
                          + " s: it does not exist and the broker does not create it, or the"
                          + " broker is unreachable"
                      : "")
                  + "); buffering and retrying with backoff up to "
                  + config.retryBackoffMax(),
              (Throwable) null);
        }
        if (!(e instanceof RetriableException) && !(e.getCause() instanceof RetriableException)) {
          closeProducer(Duration.ZERO);
        }
        if (!pause(backoffNanos)) {
          break;
        }
        backoffNanos = Math.min(backoffNanos * 2, config.retryBackoffMax().toNanos());
      }
    }
    closeProducer(Duration.ofSeconds(1));
  }

  /** Kafka's "Topic X not present in metadata after N ms" (a timeout of the producer's send). */
  private static boolean isMissingTopicMetadata(Exception e) {
    return e instanceof org.apache.kafka.common.errors.TimeoutException
        && String.valueOf(e.getMessage()).contains("not present in metadata");
  }

  private void send(Pending p) throws Exception {
    if (producer == null) {
      producer = new KafkaProducer<>(producerConfig);
    }
    var headers = new RecordHeaders();
    headers.add(
        encoder.contentTypeHeader(), encoder.contentType().getBytes(StandardCharsets.UTF_8));
    List<Future<RecordMetadata>> acks = new ArrayList<>(p.chunks().size());
    for (byte[] chunk : p.chunks()) {
      acks.add(producer.send(new ProducerRecord<>(config.topic(), null, p.key(), chunk, headers)));
    }
    for (Future<RecordMetadata> ack : acks) {
      try {
        ack.get(deliveryTimeoutMs + 5_000, TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.ExecutionException e) {
        throw e.getCause() instanceof Exception c ? c : e;
      }
    }
  }

  /** Sleeps for the backoff unless closing; false when the loop must end. */
  private boolean pause(long nanos) {
    long until = System.nanoTime() + nanos;
    lock.lock();
    try {
      long left;
      while ((left = until - System.nanoTime()) > 0) {
        if (stopping && System.nanoTime() - drainDeadlineNanos > 0) {
          return false;
        }
        work.awaitNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)));
      }
      return true;
    } catch (InterruptedException e) {
      return false;
    } finally {
      lock.unlock();
    }
  }

  private void closeProducer(Duration timeout) {
    if (producer != null) {
      try {
        producer.close(timeout);
      } catch (RuntimeException e) {
        LOG.log(Level.FINE, "phasewatch: closing the producer failed", e);
      }
      producer = null;
    }
  }

  @Override
  public void close(Duration drainTimeout) {
    lock.lock();
    try {
      drainDeadlineNanos = System.nanoTime() + drainTimeout.toNanos();
      stopping = true;
      work.signalAll();
    } finally {
      lock.unlock();
    }
    try {
      sender.join(drainTimeout.toMillis() + 5_000);
      if (sender.isAlive()) {
        sender.interrupt();
        sender.join(5_000);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    lock.lock();
    try {
      if (!(store instanceof SpoolStore)) {
        for (int i = store.size(); i > 0; i--) {
          dropped("closed");
        }
      }
    } finally {
      lock.unlock();
    }
  }
}
