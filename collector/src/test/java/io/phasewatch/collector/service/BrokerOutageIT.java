package io.phasewatch.collector.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.phasewatch.collector.config.ConfigLoader;
import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.core.wire.SnapshotMetadata;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.Stage;
import io.phasewatch.testkit.KafkaBroker;
import io.phasewatch.testkit.SnapshotSender;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A broker outage seen from the collector's health surface: the real KRaft broker stops serving
 * under a consuming collector, whose readiness must turn to 503 and whose lag must turn unknown
 * (NaN) rather than read 0, so {@code PhasewatchCollectorNotConsuming} can fire; once the broker is
 * back, both recover.
 */
class BrokerOutageIT {

  @RegisterExtension static final KafkaBroker KAFKA = KafkaBroker.perClass();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @Test
  void readinessFailsAndLagIsUnknownWhileNoBrokerAnswersAndBothRecoverAfter() throws Exception {
    String topic = KAFKA.createTopic("outage");
    try (KafkaProducer<byte[], byte[]> p = KAFKA.producer()) {
      SnapshotSender.send(p, topic, snapshot(0));
    }
    Vertx vertx = Vertx.vertx();
    try {
      CollectorService c =
          CollectorService.start(
                  vertx,
                  ConfigLoader.load(
                      null,
                      Map.of(),
                      Map.of(
                          "kafka.bootstrap-servers",
                          KAFKA.bootstrapServers(),
                          "kafka.topic",
                          topic,
                          "kafka.dlq-topic",
                          topic + ".dlq",
                          "kafka.group-id",
                          "outage",
                          "http.port",
                          "0")))
              .await(60, TimeUnit.SECONDS);
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> scrape(c).contains("phasewatch_effective_rank{"));
      await().atMost(Duration.ofSeconds(30)).until(() -> ready(c) == 200);
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> CollectorIT.value(scrape(c), "phasewatch_consumer_lag_records") == 0);
      assertThat(CollectorIT.value(scrape(c), "phasewatch_consumer_ready")).isEqualTo(1);

      KAFKA.stopServing();
      await().atMost(Duration.ofSeconds(30)).until(() -> ready(c) == 503);
      String scrape = scrape(c);
      assertThat(CollectorIT.value(scrape, "phasewatch_consumer_ready")).isZero();
      assertThat(CollectorIT.value(scrape, "phasewatch_consumer_lag_records")).isNaN();
      // The layer's values stay: the outage is a health fact, not a data loss.
      assertThat(scrape).contains("phasewatch_effective_rank{");

      KAFKA.restore();
      await().atMost(Duration.ofSeconds(60)).until(() -> ready(c) == 200);
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> CollectorIT.value(scrape(c), "phasewatch_consumer_lag_records") == 0);
      c.close().await(30, TimeUnit.SECONDS);
    } finally {
      vertx.close().await(30, TimeUnit.SECONDS);
    }
  }

  private static SnapshotRecord snapshot(long window) {
    int d = 16;
    ExactSummary s = ExactSummary.ofDimension(d);
    Random rnd = new Random(7 + window);
    float[] rows = new float[50 * d];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = (float) (rnd.nextGaussian() / (1 + i % d));
    }
    s.update(rows, 50);
    return new SnapshotRecord(
        new SnapshotMetadata(
            "outage",
            Stage.PRETRAIN,
            0,
            1,
            "l0",
            10 * (window + 1),
            window,
            10_000,
            System.currentTimeMillis(),
            0),
        s.snapshot());
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
