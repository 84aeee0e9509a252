package io.phasewatch.demo;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Properties;
import java.util.stream.Stream;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;

/**
 * A real single-node Kafka broker (combined KRaft broker and controller) inside this JVM, for the
 * demo only: the production collector talks to the operator's brokers. Storage lives in a temporary
 * folder that {@link #close()} removes.
 */
public final class EmbeddedKafka implements AutoCloseable {

  private final Path dir;
  private final KafkaRaftServer server;
  private final String bootstrapServers;

  private EmbeddedKafka(Path dir, KafkaRaftServer server, String bootstrapServers) {
    this.dir = dir;
    this.server = server;
    this.bootstrapServers = bootstrapServers;
  }

  /** Formats fresh storage and starts the broker on free loopback ports. */
  public static EmbeddedKafka start() throws IOException {
    return start(0);
  }

  /** The same, with the broker on {@code port} (0: a free one); the controller on a free one. */
  public static EmbeddedKafka start(int port) throws IOException {
    Path dir = Files.createTempDirectory("phasewatch-kafka-");
    int brokerPort = port == 0 ? freePort() : port;
    int controllerPort = freePort();
    Properties props = new Properties();
    props.put("process.roles", "broker,controller");
    props.put("node.id", "1");
    props.put("controller.quorum.bootstrap.servers", "127.0.0.1:" + controllerPort);
    props.put(
        "listeners",
        "PLAINTEXT://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
    props.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort);
    props.put("controller.listener.names", "CONTROLLER");
    props.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    props.put("log.dirs", dir.resolve("data").toString());
    props.put("offsets.topic.replication.factor", "1");
    props.put("offsets.topic.num.partitions", "1");
    props.put("transaction.state.log.replication.factor", "1");
    props.put("transaction.state.log.min.isr", "1");
    props.put("share.coordinator.state.topic.replication.factor", "1");
    props.put("share.coordinator.state.topic.min.isr", "1");
    props.put("group.initial.rebalance.delay.ms", "0");
    props.put("num.partitions", "1");
    Path config = dir.resolve("server.properties");
    try (var out = Files.newOutputStream(config)) {
      props.store(out, "phasewatch demo broker");
    }
    // StorageTool prints its progress; keep it out of the demo's terminal unless it fails.
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    int rc =
        StorageTool.execute(
            new String[] {
              "format", "-t", Uuid.randomUuid().toString(), "-c", config.toString(), "--standalone"
            },
            new PrintStream(log, true, StandardCharsets.UTF_8));
    if (rc != 0) {
      deleteRecursively(dir);
      throw new IOException(
          "embedded kafka: formatting storage failed: " + log.toString(StandardCharsets.UTF_8));
    }
    KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
    server.startup();
    return new EmbeddedKafka(dir, server, "127.0.0.1:" + brokerPort);
  }

  public String bootstrapServers() {
    return bootstrapServers;
  }

  @Override
  public void close() {
    try {
      server.shutdown();
      server.awaitShutdown();
    } finally {
      deleteRecursively(dir);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    }
  }

  private static void deleteRecursively(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
