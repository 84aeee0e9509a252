package io.phasewatch.demo;

import io.phasewatch.collector.config.ConfigLoader;
import io.phasewatch.collector.service.CollectorService;
import io.vertx.core.Vertx;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * For end-to-end tests: a single-node KRaft broker holding {@code topic} and its dead-letter topic,
 * and a real collector consuming it (group = topic, HTTP on a free port). Closed in reverse.
 */
public final class CollectorOnBroker implements AutoCloseable {

  private final KafkaClusterTestKit cluster;
  private final Vertx vertx;
  private final CollectorService collector;

  private CollectorOnBroker(KafkaClusterTestKit cluster, Vertx vertx, CollectorService collector) {
    this.cluster = cluster;
    this.vertx = vertx;
    this.collector = collector;
  }

  public static CollectorOnBroker start(String topic) throws Exception {
    KafkaClusterTestKit cluster =
        new KafkaClusterTestKit.Builder(
                new TestKitNodes.Builder()
                    .setCombined(true)
                    .setNumBrokerNodes(1)
                    .setNumControllerNodes(1)
                    .build())
            .setConfigProp("group.initial.rebalance.delay.ms", "0")
            .setConfigProp("offsets.topic.replication.factor", "1")
            .setConfigProp("offsets.topic.num.partitions", "1")
            .build();
    Vertx vertx = null;
    try {
      cluster.format();
      cluster.startup();
      cluster.waitForReadyBrokers();
      try (var admin = cluster.admin()) {
        admin
            .createTopics(
                List.of(
                    new NewTopic(topic, 1, (short) 1), new NewTopic(topic + ".dlq", 1, (short) 1)))
            .all()
            .get(30, TimeUnit.SECONDS);
      }
      Map<String, String> o = new HashMap<>();
      o.put("kafka.bootstrap-servers", cluster.bootstrapServers());
      o.put("kafka.topic", topic);
      o.put("kafka.dlq-topic", topic + ".dlq");
      o.put("kafka.group-id", topic);
      o.put("http.port", "0");
      vertx = Vertx.vertx();
      CollectorService collector =
          CollectorService.start(vertx, ConfigLoader.load(null, Map.of(), o))
              .await(60, TimeUnit.SECONDS);
      return new CollectorOnBroker(cluster, vertx, collector);
    } catch (Exception | Error e) {
      if (vertx != null) {
        vertx.close().await(30, TimeUnit.SECONDS);
      }
      cluster.close();
      throw e;
    }
  }

  public String bootstrapServers() {
    return cluster.bootstrapServers();
  }

  public CollectorService collector() {
    return collector;
  }

  /** Stops the collector, Vert.x and the broker; a failure to stop is the test's failure. */
  @Override
  public void close() {
    try {
      try {
        collector.close().await(30, TimeUnit.SECONDS);
        vertx.close().await(30, TimeUnit.SECONDS);
      } finally {
        cluster.close();
      }
    } catch (Exception e) {
      throw new IllegalStateException("stopping the collector and its broker failed", e);
    }
  }
}
