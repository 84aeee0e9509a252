package io.phasewatch.collector.service;

import io.phasewatch.collector.config.CollectorConfig;
import io.phasewatch.collector.ingest.KafkaIngest;
import io.phasewatch.collector.ingest.WindowSink;
import io.phasewatch.collector.metrics.CollectorMetrics;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Owns the ingest thread: a {@code KafkaConsumer} is single-threaded and its {@code poll} blocks,
 * so it gets a thread of its own rather than an event loop or a borrowed worker. Before starting,
 * it makes sure the dead-letter topic exists, compacted: its copies are keyed by source position,
 * so the re-read after a restart leaves one copy per bad record once compaction ran.
 */
public final class IngestVerticle extends VerticleBase {

  private final CollectorConfig config;
  private final CollectorMetrics metrics;
  private final WindowSink sink;
  private KafkaIngest ingest;
  private Thread thread;

  public IngestVerticle(CollectorConfig config, CollectorMetrics metrics, WindowSink sink) {
    this.config = config;
    this.metrics = metrics;
    this.sink = sink;
  }

  @Override
  public Future<?> start() {
    return vertx
        .executeBlocking(
            () -> {
              ensureDeadLetterTopic();
              return null;
            })
        .map(
            v -> {
              ingest = new KafkaIngest(config, metrics, sink);
              thread = new Thread(ingest, "phasewatch-ingest");
              thread.setDaemon(true);
              thread.start();
              return null;
            });
  }

  @Override
  public Future<?> stop() {
    if (ingest == null) {
      return Future.succeededFuture();
    }
    ingest.close();
    return vertx.executeBlocking(
        () -> {
          thread.join(TimeUnit.SECONDS.toMillis(5));
          if (thread.isAlive()) {
            // Still waiting for room in the analysis queue: only an interrupt ends that wait.
            thread.interrupt();
            thread.join(TimeUnit.SECONDS.toMillis(10));
          }
          return null;
        });
  }

  private void ensureDeadLetterTopic() throws InterruptedException {
    Properties p = config.kafka().clientProperties(AdminClientConfig.configNames());
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafka().bootstrapServers());
    try (Admin admin = Admin.create(p)) {
      Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
      if (existing.contains(config.kafka().dlqTopic())) {
        return;
      }
      NewTopic topic =
          new NewTopic(
                  config.kafka().dlqTopic(), java.util.Optional.empty(), java.util.Optional.empty())
              .configs(
                  Map.of(
                      TopicConfig.CLEANUP_POLICY_CONFIG,
                      TopicConfig.CLEANUP_POLICY_COMPACT,
                      TopicConfig.MAX_MESSAGE_BYTES_CONFIG,
                      String.valueOf(Math.max(1 << 20, config.limits().maxRecordBytes() + 4_096))));
      admin.createTopics(List.of(topic)).all().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) {
        throw new IllegalStateException(
            "cannot create dead-letter topic " + config.kafka().dlqTopic() + ": " + e.getCause(),
            e);
      }
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException(
          "Kafka at " + config.kafka().bootstrapServers() + " did not answer within 30 s", e);
    }
  }
}
