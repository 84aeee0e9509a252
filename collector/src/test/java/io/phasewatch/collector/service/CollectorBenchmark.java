package io.phasewatch.collector.service;

import io.phasewatch.agent.sketch.CovarianceSnapshot;
import io.phasewatch.agent.sketch.FrequentDirections;
import io.phasewatch.agent.wire.SnapshotCodec;
import io.phasewatch.agent.wire.SnapshotMetadata;
import io.phasewatch.agent.wire.SnapshotRecord;
import io.phasewatch.agent.wire.Stage;
import io.phasewatch.collector.config.CollectorConfig;
import io.phasewatch.collector.config.ConfigLoader;
import io.phasewatch.collector.metrics.LayerState;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * End-to-end collector benchmark against an in-process KRaft broker: latency from the send of a
 * layer's last rank part to the merged window being visible in the state the gauges read, and
 * sustained snapshot throughput. Each argument is one configuration {@code
 * d:ell:ranks:layers:paced:flood:warmup}: {@code warmup} uncounted windows, {@code paced} windows
 * sent one at a time (all layers and ranks at once, then wait until visible: latency), {@code
 * flood} windows back to back (throughput; with 0, throughput comes from the paced windows). All
 * run in one process, side by side. Command in docs/benchmarks.md ("## Collector").
 */
public final class CollectorBenchmark {

  private CollectorBenchmark() {}

  public static void main(String[] args) throws Exception {
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
    cluster.format();
    cluster.startup();
    cluster.waitForReadyBrokers();
    System.out.println(
        "| d | ℓ | ranks × layers | windows paced + flood | latency p50 | latency p99 | p99 / 1 s"
            + " | throughput (snapshots/s) | needed at 1 window / 10 s | throughput / needed |");
    System.out.println("|---|---|---|---|---|---|---|---|---|---|");
    try {
      for (String arg : args) {
        System.out.println(run(cluster, arg));
        System.out.flush();
      }
    } finally {
      cluster.close();
    }
  }

  private static String run(KafkaClusterTestKit cluster, String spec) throws Exception {
    String[] p = spec.split(":");
    int d = Integer.parseInt(p[0]);
    int ell = Integer.parseInt(p[1]);
    int ranks = Integer.parseInt(p[2]);
    int layers = Integer.parseInt(p[3]);
    int windows = Integer.parseInt(p[4]);
    int flood = Integer.parseInt(p[5]);
    int warmup = Integer.parseInt(p[6]);
    String topic = "bench-" + d + "-" + ell + "-" + System.nanoTime();
    try (var admin = cluster.admin()) {
      admin
          .createTopics(List.of(new NewTopic(topic, 8, (short) 1)))
          .all()
          .get(30, TimeUnit.SECONDS);
    }
    // One FD snapshot per rank, reused for every layer: the collector's work is the same.
    CovarianceSnapshot[] parts = new CovarianceSnapshot[ranks];
    for (int r = 0; r < ranks; r++) {
      FrequentDirections fd = FrequentDirections.withRows(ell, d);
      Random rnd = new Random(r);
      int n = 2 * ell;
      float[] rowsData = new float[n * d];
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < d; j++) {
          rowsData[i * d + j] = (float) (rnd.nextGaussian() / Math.sqrt(j + 1));
        }
      }
      fd.update(rowsData, n);
      parts[r] = fd.snapshot();
    }
    Map<String, String> o = new HashMap<>();
    o.put("kafka.bootstrap-servers", cluster.bootstrapServers());
    o.put("kafka.topic", topic);
    o.put("kafka.dlq-topic", topic + ".dlq");
    o.put("kafka.group-id", topic);
    o.put("http.port", "0");
    o.put("limits.max-layers-per-run", String.valueOf(Math.max(128, layers)));
    o.put("merge.max-pending-bytes", String.valueOf(8L << 30));
    o.put("analysis.max-queued-windows", "16");
    CollectorConfig config = ConfigLoader.load(null, Map.of(), o);
    Vertx vertx = Vertx.vertx();
    CollectorService service = CollectorService.start(vertx, config).await(60, TimeUnit.SECONDS);
    Properties pp = new Properties();
    pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers());
    pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    pp.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    pp.put(ProducerConfig.BUFFER_MEMORY_CONFIG, 256L << 20);
    List<Double> latencies = new ArrayList<>();
    double throughput;
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp)) {
      String run = "bench";
      long window = 0;
      // Paced: one window of all layers at once (what the ranks do every 10 s), then wait for it.
      // Warm-up windows (JIT, clients) are not counted.
      long pacedStart = 0;
      for (int w = -warmup; w < windows; w++, window++) {
        if (w == 0) {
          pacedStart = System.nanoTime();
        }
        long[] sentAt = new long[layers];
        for (int l = 0; l < layers; l++) {
          for (int r = 0; r < ranks; r++) {
            send(producer, topic, record(run, l, r, ranks, window, parts[r]));
          }
          producer.flush();
          sentAt[l] = System.nanoTime();
        }
        long[] seenAt = awaitWindow(service, run, layers, window);
        for (int l = 0; l < layers && w >= 0; l++) {
          latencies.add((seenAt[l] - sentAt[l]) / 1e9);
        }
      }
      double pacedSeconds = (System.nanoTime() - pacedStart) / 1e9;
      // Flood: windows back to back; throughput = snapshots / time to the last one visible.
      long start = System.nanoTime();
      long first = window;
      for (int w = 0; w < flood; w++, window++) {
        for (int l = 0; l < layers; l++) {
          for (int r = 0; r < ranks; r++) {
            send(producer, topic, record(run, l, r, ranks, window, parts[r]));
          }
        }
      }
      if (flood > 0) {
        producer.flush();
        awaitWindow(service, run, layers, window - 1);
        double seconds = (System.nanoTime() - start) / 1e9;
        throughput = (window - first) * (double) layers * ranks / seconds;
      } else {
        throughput = windows * (double) layers * ranks / pacedSeconds;
      }
    } finally {
      service.close().await(60, TimeUnit.SECONDS);
      vertx.close().await(60, TimeUnit.SECONDS);
    }
    double[] lat = latencies.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    double p50 = percentile(lat, 0.50);
    double p99 = percentile(lat, 0.99);
    double needed = ranks * (double) layers / 10.0;
    return String.format(
        Locale.ROOT,
        "| %d | %d | %d × %d | %d + %d | %.3f s | %.3f s | %.2f | %.1f | %.1f | %.2f |",
        d,
        ell,
        ranks,
        layers,
        windows,
        flood,
        p50,
        p99,
        p99 / 1.0,
        throughput,
        needed,
        throughput / needed);
  }

  private static long[] awaitWindow(CollectorService s, String run, int layers, long window)
      throws InterruptedException {
    long[] seen = new long[layers];
    int remaining = layers;
    while (remaining > 0) {
      Map<String, LayerState> latest = s.state().latest().getOrDefault(run, Map.of());
      long now = System.nanoTime();
      for (int l = 0; l < layers; l++) {
        LayerState st = latest.get(layerName(l));
        if (seen[l] == 0 && st != null && st.windowId() >= window) {
          seen[l] = now;
          remaining--;
        }
      }
      Thread.sleep(2);
    }
    return seen;
  }

  private static double percentile(double[] sorted, double q) {
    int i = (int) Math.ceil(q * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
  }

  private static String layerName(int l) {
    return String.format(Locale.ROOT, "layer%02d", l);
  }

  private static SnapshotRecord record(
      String run, int layer, int rank, int world, long window, CovarianceSnapshot s) {
    return new SnapshotRecord(
        new SnapshotMetadata(
            run,
            Stage.PRETRAIN,
            rank,
            world,
            layerName(layer),
            100 * (window + 1),
            window,
            0,
            System.currentTimeMillis(),
            0),
        s);
  }

  private static void send(KafkaProducer<byte[], byte[]> p, String topic, SnapshotRecord r) {
    byte[] key = r.metadata().key().getBytes(StandardCharsets.UTF_8);
    for (byte[] value : SnapshotCodec.encode(r, SnapshotCodec.DEFAULT_MAX_RECORD_BYTES)) {
      ProducerRecord<byte[], byte[]> rec = new ProducerRecord<>(topic, key, value);
      rec.headers()
          .add(
              SnapshotCodec.CONTENT_TYPE_HEADER,
              SnapshotCodec.CONTENT_TYPE.getBytes(StandardCharsets.UTF_8));
      p.send(rec);
    }
  }
}
