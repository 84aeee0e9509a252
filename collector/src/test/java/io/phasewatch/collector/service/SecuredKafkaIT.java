package io.phasewatch.collector.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.phasewatch.collector.config.ConfigLoader;
import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.core.wire.SnapshotCodec;
import io.phasewatch.core.wire.SnapshotMetadata;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.Stage;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.security.auth.SecurityProtocol;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.test.JaasUtils;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The collector behind a secured Kafka: a real KRaft broker whose client listener speaks TLS
 * (certificates made by {@code keytool} in the test, a PKCS12 truststore) or SASL/PLAIN, and a
 * snapshot that reaches the collector's metrics only if its {@code kafka.*} client properties
 * reached its consumer. TLS goes through the real {@code serve} jar with {@code --set} flags, SASL
 * through the in-process service with {@code PHASEWATCH_KAFKA_*} variables: the two routes an
 * operator has.
 */
class SecuredKafkaIT {

  private static final Path JAR = Path.of("target", "phasewatch-collector.jar");
  private static final String PASSWORD = "it-secret";
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir Path tmp;

  @Test
  void serveConsumesASnapshotThroughAnSslListener() throws Exception {
    Path keystore = tmp.resolve("broker.p12");
    Path truststore = tmp.resolve("trust.p12");
    keytool(
        "-genkeypair",
        "-alias",
        "broker",
        "-keyalg",
        "RSA",
        "-keysize",
        "2048",
        "-validity",
        "2",
        "-dname",
        "CN=localhost",
        "-ext",
        "SAN=dns:localhost,ip:127.0.0.1",
        "-keystore",
        keystore.toString(),
        "-storetype",
        "PKCS12",
        "-storepass",
        PASSWORD,
        "-keypass",
        PASSWORD);
    Path cert = tmp.resolve("broker.pem");
    keytool(
        "-exportcert",
        "-rfc",
        "-alias",
        "broker",
        "-keystore",
        keystore.toString(),
        "-storepass",
        PASSWORD,
        "-file",
        cert.toString());
    keytool(
        "-importcert",
        "-noprompt",
        "-alias",
        "broker",
        "-file",
        cert.toString(),
        "-keystore",
        truststore.toString(),
        "-storetype",
        "PKCS12",
        "-storepass",
        PASSWORD);
    Map<String, String> client =
        Map.of(
            "security.protocol",
            "SSL",
            "ssl.truststore.location",
            truststore.toString(),
            "ssl.truststore.type",
            "PKCS12",
            "ssl.truststore.password",
            PASSWORD);
    // The test kit builds PLAINTEXT or SASL_PLAINTEXT listeners; its client listener is made to
    // speak TLS through the protocol map, which it leaves to us when set.
    var nodes = nodes(SecurityProtocol.PLAINTEXT);
    var builder = broker(nodes);
    builder.setConfigProp(
        "listener.security.protocol.map",
        nodes.brokerListenerName().value()
            + ":SSL,"
            + nodes.controllerListenerName().value()
            + ":PLAINTEXT");
    builder.setConfigProp("ssl.keystore.location", keystore.toString());
    builder.setConfigProp("ssl.keystore.type", "PKCS12");
    builder.setConfigProp("ssl.keystore.password", PASSWORD);
    builder.setConfigProp("ssl.key.password", PASSWORD);
    // The broker is its own client on the inter-broker listener.
    client.forEach(builder::setConfigProp);
    KafkaClusterTestKit cluster = start(builder);
    try {
      String topic = topic(cluster, client);
      produce(cluster, client, topic, "tls-run");

      List<String> command = new ArrayList<>();
      command.addAll(
          List.of(
              java(),
              "-jar",
              JAR.toString(),
              "serve",
              "--bootstrap-servers",
              cluster.bootstrapServers(),
              "--http-port",
              "0",
              "--set",
              "kafka.topic=" + topic,
              "--set",
              "kafka.dlq-topic=" + topic + ".dlq",
              "--set",
              "kafka.group-id=" + topic));
      client.forEach((k, v) -> command.addAll(List.of("--set", "kafka." + k + "=" + v)));
      Path log = tmp.resolve("serve.log");
      Process serve =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
      try {
        int port = awaitPort(serve, log);
        awaitSeries(port, "tls-run");
        assertThat(Files.readString(log)).doesNotContain("security.protocol = PLAINTEXT");
      } finally {
        serve.destroy();
        if (!serve.waitFor(30, TimeUnit.SECONDS)) {
          serve.destroyForcibly();
        }
      }
    } finally {
      cluster.close();
    }
  }

  @Test
  void collectorConsumesASnapshotThroughSaslPlain() throws Exception {
    Map<String, String> client =
        Map.of(
            "security.protocol",
            "SASL_PLAINTEXT",
            "sasl.mechanism",
            "PLAIN",
            "sasl.jaas.config",
            "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
                + JaasUtils.KAFKA_PLAIN_ADMIN
                + "\" password=\""
                + JaasUtils.KAFKA_PLAIN_ADMIN_PASSWORD
                + "\";");
    KafkaClusterTestKit cluster = start(broker(nodes(SecurityProtocol.SASL_PLAINTEXT)));
    try {
      String topic = topic(cluster, client);
      produce(cluster, client, topic, "sasl-run");

      Map<String, String> env = new HashMap<>();
      client.forEach((k, v) -> env.put(ConfigLoader.envName("kafka." + k), v));
      Map<String, String> flags =
          Map.of(
              "kafka.bootstrap-servers",
              cluster.bootstrapServers(),
              "kafka.topic",
              topic,
              "kafka.dlq-topic",
              topic + ".dlq",
              "kafka.group-id",
              topic,
              "http.port",
              "0");
      var config = ConfigLoader.load(null, env, flags);
      assertThat(config.kafka().client()).containsAllEntriesOf(client);
      Vertx vertx = Vertx.vertx();
      try {
        CollectorService service =
            CollectorService.start(vertx, config).await(60, TimeUnit.SECONDS);
        try {
          awaitSeries(service.httpPort(), "sasl-run");
        } finally {
          service.close().await(30, TimeUnit.SECONDS);
        }
      } finally {
        vertx.close().await(30, TimeUnit.SECONDS);
      }
    } finally {
      cluster.close();
    }
  }

  // ---------------------------------------------------------------------------------------------

  private static TestKitNodes nodes(SecurityProtocol protocol) {
    return new TestKitNodes.Builder()
        .setCombined(true)
        .setNumBrokerNodes(1)
        .setNumControllerNodes(1)
        .setBrokerSecurityProtocol(protocol)
        // The broker registers with the controller as a SASL user too, not as ANONYMOUS, which
        // the test kit's authorizer refuses.
        .setControllerSecurityProtocol(protocol)
        .build();
  }

  private static KafkaClusterTestKit.Builder broker(TestKitNodes nodes) {
    return new KafkaClusterTestKit.Builder(nodes)
        .setConfigProp("group.initial.rebalance.delay.ms", "0")
        .setConfigProp("offsets.topic.replication.factor", "1")
        .setConfigProp("offsets.topic.num.partitions", "1")
        .setConfigProp("transaction.state.log.replication.factor", "1")
        .setConfigProp("transaction.state.log.min.isr", "1");
  }

  private static KafkaClusterTestKit start(KafkaClusterTestKit.Builder builder) throws Exception {
    KafkaClusterTestKit cluster = builder.build();
    cluster.format();
    cluster.startup();
    cluster.waitForReadyBrokers();
    return cluster;
  }

  private static String topic(KafkaClusterTestKit cluster, Map<String, String> client)
      throws Exception {
    String topic = "secured-" + System.nanoTime();
    try (var admin = cluster.admin(new HashMap<String, Object>(client))) {
      admin
          .createTopics(List.of(new NewTopic(topic, 1, (short) 1)))
          .all()
          .get(30, TimeUnit.SECONDS);
    }
    return topic;
  }

  /** One exact snapshot of 200 Gaussian rows, d = 16, sent with the same client properties. */
  private static void produce(
      KafkaClusterTestKit cluster, Map<String, String> client, String topic, String run)
      throws Exception {
    int d = 16;
    ExactSummary sketch = ExactSummary.ofDimension(d);
    Random rnd = new Random(7);
    float[] row = new float[d];
    for (int r = 0; r < 200; r++) {
      for (int i = 0; i < d; i++) {
        row[i] = (float) (rnd.nextGaussian() / (i + 1));
      }
      sketch.update(row);
    }
    var record =
        new SnapshotRecord(
            new SnapshotMetadata(
                run, Stage.PRETRAIN, 0, 1, "l0", 100, 100, 100_000, System.currentTimeMillis(), 0),
            sketch.snapshot());
    Map<String, Object> p = new HashMap<>(client);
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers());
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    try (var producer = new KafkaProducer<byte[], byte[]>(p)) {
      for (byte[] value : SnapshotCodec.encode(record, SnapshotCodec.DEFAULT_MAX_RECORD_BYTES)) {
        var rec =
            new ProducerRecord<>(
                topic, record.metadata().key().getBytes(StandardCharsets.UTF_8), value);
        rec.headers()
            .add(
                SnapshotCodec.CONTENT_TYPE_HEADER,
                SnapshotCodec.CONTENT_TYPE.getBytes(StandardCharsets.UTF_8));
        producer.send(rec).get(30, TimeUnit.SECONDS);
      }
    }
  }

  private static void awaitSeries(int port, String run) {
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(250))
        .until(
            () ->
                scrape(port)
                    .lines()
                    .anyMatch(
                        l ->
                            l.startsWith("phasewatch_effective_rank{")
                                && l.contains("run=\"" + run + "\"")));
  }

  private static String scrape(int port) throws IOException, InterruptedException {
    return HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
            HttpResponse.BodyHandlers.ofString())
        .body();
  }

  private static final Pattern SERVING =
      Pattern.compile("collector serving on http://[^:]+:(\\d+)");

  private static int awaitPort(Process serve, Path log) {
    int[] port = {-1};
    await()
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(200))
        .until(
            () -> {
              if (!serve.isAlive()) {
                throw new AssertionError("serve exited: " + Files.readString(log));
              }
              Matcher m = SERVING.matcher(Files.readString(log));
              if (m.find()) {
                port[0] = Integer.parseInt(m.group(1));
              }
              return port[0] > 0;
            });
    return port[0];
  }

  private static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private void keytool(String... args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as("keytool %s: %s", args[0], out).isZero();
  }
}
