package io.phasewatch.collector.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.phasewatch.collector.config.ConfigLoader;
import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.core.wire.SnapshotCodec;
import io.phasewatch.core.wire.SnapshotMetadata;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.Stage;
import io.phasewatch.testkit.KafkaBroker;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * A broker outage seen from the collector's health surface: a real KRaft broker is stopped under a
 * consuming collector, whose readiness must turn to 503 and whose lag must turn unknown (NaN)
 * rather than read 0, so {@code PhasewatchCollectorNotConsuming} can fire.
 */
class BrokerOutageIT {

  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @Test
  void readinessFailsAndLagIsUnknownWhileNoBrokerAnswers() throws Exception {
    KafkaBroker broker = KafkaBroker.start();
    Vertx vertx = Vertx.vertx();
    CollectorService collector = null;
    try {
      broker.createTopic("outage");
      send(broker.bootstrapServers());
      collector =
          CollectorService.start(
                  vertx,
                  ConfigLoader.load(
                      null,
                      Map.of(),
                      Map.of(
                          "kafka.bootstrap-servers", broker.bootstrapServers(),
                          "kafka.topic", "outage",
                          "kafka.dlq-topic", "outage.dlq",
                          "kafka.group-id", "outage",
                          "http.port", "0")))
              .await(60, TimeUnit.SECONDS);
      CollectorService c = collector;
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> scrape(c).contains("phasewatch_effective_rank{"));
      await().atMost(Duration.ofSeconds(30)).until(() -> ready(c) == 200);
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> CollectorIT.value(scrape(c), "phasewatch_consumer_lag_records") == 0);
      assertThat(CollectorIT.value(scrape(c), "phasewatch_consumer_ready")).isEqualTo(1);

      broker.close();

      await().atMost(Duration.ofSeconds(30)).until(() -> ready(c) == 503);
      String scrape = scrape(c);
      assertThat(CollectorIT.value(scrape, "phasewatch_consumer_ready")).isZero();
      assertThat(CollectorIT.value(scrape, "phasewatch_consumer_lag_records")).isNaN();
      // The layer's values stay: the outage is a health fact, not a data loss.
      assertThat(scrape).contains("phasewatch_effective_rank{");
    } finally {
      if (collector != null) {
        collector.close().await(30, TimeUnit.SECONDS);
      }
      vertx.close().await(30, TimeUnit.SECONDS);
      broker.close();
    }
  }

  private static void send(String bootstrap) throws Exception {
    int d = 16;
    ExactSummary s = ExactSummary.ofDimension(d);
    Random rnd = new Random(7);
    float[] rows = new float[50 * d];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = (float) (rnd.nextGaussian() / (1 + i % d));
    }
    s.update(rows, 50);
    SnapshotRecord r =
        new SnapshotRecord(
            new SnapshotMetadata(
                "outage", Stage.PRETRAIN, 0, 1, "l0", 10, 0, 10_000, System.currentTimeMillis(), 0),
            s.snapshot());
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
      for (byte[] v : SnapshotCodec.encode(r, SnapshotCodec.DEFAULT_MAX_RECORD_BYTES)) {
        producer
            .send(
                new ProducerRecord<>(
                    "outage", r.metadata().key().getBytes(StandardCharsets.UTF_8), v))
            .get(30, TimeUnit.SECONDS);
      }
    }
  }

  private static int ready(CollectorService c) throws Exception {
    return get(c, "/health/ready").statusCode();
  }

  private static String scrape(CollectorService c) throws Exception {
    return get(c, "/metrics").body();
  }

  private static HttpResponse<String> get(CollectorService c, String path) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + c.httpPort() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
