package io.phasewatch.testkit;

import io.phasewatch.core.wire.SnapshotRecord;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.security.auth.SecurityProtocol;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.test.JaasUtils;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * A real single-node KRaft broker (Kafka's {@code KafkaClusterTestKit}: one combined
 * broker+controller) in this JVM.
 *
 * <p>In a test class, one broker for the whole class (it takes 4–7 s and ~300 MB to start):
 *
 * <pre>{@code
 * @RegisterExtension static final KafkaBroker KAFKA = KafkaBroker.perClass();
 * }</pre>
 *
 * and a {@code @BootstrapServers String} parameter of a test or lifecycle method receives its
 * address. Outside JUnit (a benchmark's {@code main}, or one test of a class that needs its own),
 * {@link #start()} returns a running one to close.
 *
 * <p>Its settings suit consumer groups on one node (offsets topic of one partition and replica, no
 * initial rebalance delay), so a collector's group joins in well under a second.
 */
public final class KafkaBroker
    implements AutoCloseable, BeforeAllCallback, AfterAllCallback, ParameterResolver {

  private static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(30);

  private KafkaClusterTestKit cluster;
  private String ownerId;
  // What a client needs to reach this broker: empty for PLAINTEXT; TLS or SASL settings otherwise.
  private Map<String, String> client = Map.of();

  private KafkaBroker() {}

  /** A broker the extension starts before the class's first test and closes after its last. */
  public static KafkaBroker perClass() {
    return new KafkaBroker();
  }

  /** A running broker; the caller closes it. */
  public static KafkaBroker start() throws Exception {
    KafkaBroker broker = new KafkaBroker();
    broker.startCluster();
    return broker;
  }

  /**
   * A running broker whose client listener speaks TLS only, with a self-signed certificate for
   * {@code localhost} and {@code 127.0.0.1} that {@code keytool} makes in {@code dir}; {@link
   * #clientProperties()} names the PKCS12 truststore a client needs. The caller closes it.
   */
  public static KafkaBroker startWithTls(Path dir) throws Exception {
    Tls tls = Tls.selfSigned(dir);
    KafkaBroker broker = new KafkaBroker();
    broker.client = tls.clientProperties();
    TestKitNodes nodes = nodes(SecurityProtocol.PLAINTEXT);
    var props = new LinkedHashMap<String, String>(tls.brokerProperties());
    // The test kit builds PLAINTEXT or SASL listeners; the protocol map, which it leaves alone when
    // given, makes its client listener speak TLS. The broker is its own TLS client there.
    props.put(
        "listener.security.protocol.map",
        nodes.brokerListenerName().value()
            + ":SSL,"
            + nodes.controllerListenerName().value()
            + ":PLAINTEXT");
    props.putAll(broker.client);
    broker.startCluster(nodes, props);
    return broker;
  }

  /**
   * A running broker whose listeners take SASL/PLAIN only, with the test kit's users and an
   * authorizer that lets only its admin (whose credentials {@link #clientProperties()} holds) do
   * anything. The caller closes it.
   */
  public static KafkaBroker startWithSaslPlain() throws Exception {
    KafkaBroker broker = new KafkaBroker();
    broker.client =
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
    broker.startCluster(nodes(SecurityProtocol.SASL_PLAINTEXT), Map.of());
    return broker;
  }

  /** The Kafka client properties that reach this broker, beside its bootstrap servers. */
  public Map<String, String> clientProperties() {
    return client;
  }

  private static TestKitNodes nodes(SecurityProtocol protocol) {
    return new TestKitNodes.Builder()
        .setCombined(true)
        .setNumBrokerNodes(1)
        .setNumControllerNodes(1)
        .setBrokerSecurityProtocol(protocol)
        // Under SASL the broker registers with its controller as the kit's admin; as ANONYMOUS
        // on a PLAINTEXT controller listener the kit's authorizer would refuse it.
        .setControllerSecurityProtocol(protocol)
        .build();
  }

  private void startCluster() throws Exception {
    startCluster(nodes(SecurityProtocol.PLAINTEXT), Map.of());
  }

  private void startCluster(TestKitNodes nodes, Map<String, String> props) throws Exception {
    var builder =
        new KafkaClusterTestKit.Builder(nodes)
            .setConfigProp("group.initial.rebalance.delay.ms", "0")
            .setConfigProp("offsets.topic.replication.factor", "1")
            .setConfigProp("offsets.topic.num.partitions", "1")
            .setConfigProp("transaction.state.log.replication.factor", "1")
            .setConfigProp("transaction.state.log.min.isr", "1");
    props.forEach(builder::setConfigProp);
    var built = builder.build();
    try {
      built.format();
      built.startup();
      built.waitForReadyBrokers();
    } catch (Exception | Error e) {
      built.close();
      throw e;
    }
    cluster = built;
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    // A @Nested class sees the outer class's broker: only the outermost one starts and stops it.
    if (cluster == null) {
      startCluster();
      ownerId = context.getUniqueId();
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (context.getUniqueId().equals(ownerId)) {
      close();
      ownerId = null;
    }
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.isAnnotated(BootstrapServers.class)
        && parameter.getParameter().getType() == String.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return bootstrapServers();
  }

  private KafkaClusterTestKit cluster() {
    if (cluster == null) {
      throw new IllegalStateException(
          "the broker is not running: register it with @RegisterExtension on a static field, or"
              + " use KafkaBroker.start()");
    }
    return cluster;
  }

  public String bootstrapServers() {
    return cluster().bootstrapServers();
  }

  /** Creates a topic of one partition; returns its name. */
  public String createTopic(String topic) throws Exception {
    return createTopic(topic, 1);
  }

  /** Creates a topic of {@code partitions} partitions (one replica); returns its name. */
  public String createTopic(String topic, int partitions) throws Exception {
    return createTopic(topic, partitions, Map.of());
  }

  /** Creates a topic with topic-level {@code configs} (e.g. {@code max.message.bytes}). */
  public String createTopic(String topic, int partitions, Map<String, String> configs)
      throws Exception {
    try (var admin = cluster().admin(new HashMap<String, Object>(client))) {
      admin
          .createTopics(List.of(new NewTopic(topic, partitions, (short) 1).configs(configs)))
          .all()
          .get(ADMIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }
    return topic;
  }

  /**
   * Reads {@code topic} from the start until the snapshots decoded so far satisfy {@code done} or
   * {@code timeout} passes, and returns them all; see {@link SnapshotReader} (PLAINTEXT brokers
   * only: the reader takes no client properties).
   */
  public List<SnapshotRecord> read(
      String topic, Predicate<List<SnapshotRecord>> done, Duration timeout) {
    return SnapshotReader.read(bootstrapServers(), topic, done, timeout);
  }

  /**
   * {@link #read(String, Predicate, Duration)}, then on for {@code quiet} once {@code done} holds.
   */
  public List<SnapshotRecord> read(
      String topic, Predicate<List<SnapshotRecord>> done, Duration timeout, Duration quiet) {
    return SnapshotReader.read(bootstrapServers(), topic, done, timeout, quiet);
  }

  /** A producer of raw bytes (keys and values), with records up to 1 MiB. */
  public KafkaProducer<byte[], byte[]> producer() {
    return producer(1 << 20);
  }

  /** A producer of raw bytes whose requests may reach {@code maxRequestBytes}. */
  public KafkaProducer<byte[], byte[]> producer(int maxRequestBytes) {
    Properties p = new Properties();
    p.putAll(client);
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, maxRequestBytes);
    return new KafkaProducer<>(p);
  }

  /**
   * Takes the broker away (its listener closes, clients see a dead connection) until {@link
   * #restore()}: an outage, with the broker's log and topics kept.
   */
  public void stopServing() {
    cluster().brokers().values().forEach(b -> b.shutdown());
  }

  /** Brings the broker back after {@link #stopServing()} and waits until it serves again. */
  public void restore() throws Exception {
    cluster().brokers().values().forEach(b -> b.startup());
    cluster().waitForReadyBrokers();
  }

  @Override
  public void close() {
    if (cluster != null) {
      KafkaClusterTestKit c = cluster;
      cluster = null;
      try {
        c.close();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while stopping the broker", e);
      } catch (Exception e) {
        throw new IllegalStateException("the broker did not stop cleanly", e);
      }
    }
  }
}
