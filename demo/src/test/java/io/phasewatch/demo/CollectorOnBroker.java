package io.phasewatch.demo;

import io.phasewatch.collector.config.ConfigLoader;
import io.phasewatch.collector.service.CollectorService;
import io.phasewatch.testkit.KafkaBroker;
import io.vertx.core.Vertx;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * For end-to-end tests: a single-node KRaft broker holding {@code topic} and its dead-letter topic,
 * and a real collector consuming it (group = topic, HTTP on a free port). Closed in reverse.
 */
public final class CollectorOnBroker implements AutoCloseable {

  private final KafkaBroker broker;
  private final Vertx vertx;
  private final CollectorService collector;

  private CollectorOnBroker(KafkaBroker broker, Vertx vertx, CollectorService collector) {
    this.broker = broker;
    this.vertx = vertx;
    this.collector = collector;
  }

  public static CollectorOnBroker start(String topic) throws Exception {
    KafkaBroker broker = KafkaBroker.start();
    Vertx vertx = null;
    try {
      broker.createTopic(topic);
      broker.createTopic(topic + ".dlq");
      Map<String, String> o = new HashMap<>();
      o.put("kafka.bootstrap-servers", broker.bootstrapServers());
      o.put("kafka.topic", topic);
      o.put("kafka.dlq-topic", topic + ".dlq");
      o.put("kafka.group-id", topic);
      o.put("http.port", "0");
      vertx = Vertx.vertx();
      CollectorService collector =
          CollectorService.start(vertx, ConfigLoader.load(null, Map.of(), o))
              .await(60, TimeUnit.SECONDS);
      return new CollectorOnBroker(broker, vertx, collector);
    } catch (Exception | Error e) {
      if (vertx != null) {
        vertx.close().await(30, TimeUnit.SECONDS);
      }
      broker.close();
      throw e;
    }
  }

  public String bootstrapServers() {
    return broker.bootstrapServers();
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
        broker.close();
      }
    } catch (Exception e) {
      throw new IllegalStateException("stopping the collector and its broker failed", e);
    }
  }
}
