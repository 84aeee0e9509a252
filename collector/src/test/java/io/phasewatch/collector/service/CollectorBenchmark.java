package io.phasewatch.collector.service;

import io.phasewatch.collector.config.CollectorConfig;
import io.phasewatch.collector.config.ConfigLoader;
import io.phasewatch.collector.metrics.LayerState;
import io.phasewatch.collector.spectrum.FitRange;
import io.phasewatch.collector.spectrum.SnapshotMerge;
import io.phasewatch.collector.spectrum.SpectralMeasures;
import io.phasewatch.collector.spectrum.Spectrum;
import io.phasewatch.core.sketch.CovarianceSnapshot;
import io.phasewatch.core.sketch.FrequentDirections;
import io.phasewatch.core.wire.SnapshotCodec;
import io.phasewatch.core.wire.SnapshotMetadata;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.Stage;
import io.phasewatch.testkit.KafkaBroker;
import io.vertx.core.Vertx;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * End-to-end collector benchmark against an in-process KRaft broker: latency from the send of a
 * layer's last rank part to the merged window being visible in the state the gauges read, and
 * sustained snapshot throughput. Each argument is one configuration {@code
 * d:ell:ranks:layers:paced:flood:warmup}: {@code warmup} uncounted windows, {@code paced} windows
 * sent one at a time (all layers and ranks at once, then wait until visible: latency), {@code
 * flood} windows back to back (throughput; with 0, throughput comes from the paced windows). All
 * run in one process, side by side.
 *
 * <p>Before each configuration's end-to-end run, the same process times the collector's per-window
 * work on one thread with nothing else running: one pairwise FD merge ({@code SnapshotMerge}), the
 * fold of all ranks and the spectrum. That gives the compute ceiling of this machine ({@code cores
 * / CPU seconds per layer-window}) to set the end-to-end throughput against. Command in
 * docs/benchmarks.md ("## Collector").
 */
public final class CollectorBenchmark {

  private static final String HEADER_E2E =
      "| d | ℓ | ranks × layers | windows paced + flood | latency p50 | latency p99 | p99 / 1 s"
          + " | throughput (snapshots/s) | needed at 1 window / 10 s | throughput / needed"
          + " | cores the process got | analysis CPU per layer-window | GC pauses / wall"
          + " | load avg (1 min) |\n"
          + "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";

  private static final String HEADER_COMPUTE =
      "| d | ℓ | one merge | merge FLOP rate | fold of the ranks + spectrum"
          + " | ceiling on %d cores (snapshots/s) | ceiling / needed | end-to-end / ceiling"
          + " | FLOP per layer-window | FLOP/s for 10× |\n"
          + "|---|---|---|---|---|---|---|---|---|---|";

  private CollectorBenchmark() {}

  public static void main(String[] args) throws Exception {
    List<String> e2e = new ArrayList<>();
    List<String> compute = new ArrayList<>();
    try (KafkaBroker broker = KafkaBroker.start()) {
      for (String arg : args) {
        String[] rows = run(broker, arg);
        e2e.add(rows[0]);
        compute.add(rows[1]);
        System.err.println(rows[0]);
        System.err.println(rows[1]);
      }
    }
    System.out.println(HEADER_E2E);
    e2e.forEach(System.out::println);
    System.out.println();
    System.out.println(
        String.format(Locale.ROOT, HEADER_COMPUTE, Runtime.getRuntime().availableProcessors()));
    compute.forEach(System.out::println);
  }

  private static String[] run(KafkaBroker broker, String spec) throws Exception {
    String[] p = spec.split(":");
    int d = Integer.parseInt(p[0]);
    int ell = Integer.parseInt(p[1]);
    int ranks = Integer.parseInt(p[2]);
    int layers = Integer.parseInt(p[3]);
    int windows = Integer.parseInt(p[4]);
    int flood = Integer.parseInt(p[5]);
    int warmup = Integer.parseInt(p[6]);
    if (ranks < 2 || windows < 1) {
      throw new IllegalArgumentException(spec + ": need ranks ≥ 2 and paced ≥ 1");
    }
    String topic = "bench-" + d + "-" + ell + "-" + System.nanoTime();
    broker.createTopic(topic, 8);
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
    Compute c = Compute.measure(parts, d, ell);
    Map<String, String> o = new HashMap<>();
    o.put("kafka.bootstrap-servers", broker.bootstrapServers());
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
    pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    pp.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    pp.put(ProducerConfig.BUFFER_MEMORY_CONFIG, 512L << 20);
    List<Double> latencies = new ArrayList<>();
    double throughput;
    double load1;
    double gcShare;
    double processCores;
    double analysisCpuPerLayerWindow;
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp)) {
      String run = "bench";
      long window = 0;
      long gcStart = gcMillis();
      long wallStart = System.nanoTime();
      double[] cpuStart = null;
      // Paced: one window of all layers at once (what the ranks do every 10 s), then wait for it.
      // Warm-up windows (JIT, clients) are not counted. Records are encoded before the clock
      // starts, so the producer's encoding does not compete with the collector while it is timed.
      long pacedStart = 0;
      for (int w = -warmup; w < windows; w++, window++) {
        List<List<Encoded>> byLayer = encodeWindow(run, layers, ranks, window, parts);
        if (w == 0) {
          pacedStart = System.nanoTime();
          cpuStart = cpuSeconds();
        }
        long[] sentAt = new long[layers];
        for (int l = 0; l < layers; l++) {
          byLayer.get(l).forEach(e -> send(producer, topic, e));
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
      List<List<Encoded>> floodRecords = new ArrayList<>();
      for (int w = 0; w < flood; w++) {
        encodeWindow(run, layers, ranks, window + w, parts).forEach(floodRecords::add);
      }
      long start = System.nanoTime();
      long first = window;
      for (List<Encoded> layer : floodRecords) {
        layer.forEach(e -> send(producer, topic, e));
      }
      window += flood;
      if (flood > 0) {
        producer.flush();
        awaitWindow(service, run, layers, window - 1);
        double seconds = (System.nanoTime() - start) / 1e9;
        throughput = (window - first) * (double) layers * ranks / seconds;
      } else {
        throughput = windows * (double) layers * ranks / pacedSeconds;
      }
      gcShare = (gcMillis() - gcStart) / ((System.nanoTime() - wallStart) / 1e6);
      double[] cpuEnd = cpuSeconds();
      System.err.println(spec + " CPU by thread group (s, whole run): " + cpuByGroup());
      double countedWall = (System.nanoTime() - pacedStart) / 1e9;
      processCores = (cpuEnd[0] - cpuStart[0]) / countedWall;
      analysisCpuPerLayerWindow = (cpuEnd[1] - cpuStart[1]) / ((windows + flood) * (double) layers);
      load1 = loadAverage();
    } finally {
      service.close().await(60, TimeUnit.SECONDS);
      vertx.close().await(60, TimeUnit.SECONDS);
    }
    double[] lat = latencies.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    double p50 = percentile(lat, 0.50);
    double p99 = percentile(lat, 0.99);
    double needed = ranks * (double) layers / 10.0;
    String e2e =
        String.format(
            Locale.ROOT,
            "| %d | %d | %d × %d | %d + %d | %.3f s | %.3f s | %.2f | %.1f | %.1f | %.2f | %.2f | %s |"
                + " %.1f %% | %.2f |",
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
            throughput / needed,
            processCores,
            duration(analysisCpuPerLayerWindow),
            100 * gcShare,
            load1);
    int cores = Runtime.getRuntime().availableProcessors();
    double perLayerWindow = c.foldSeconds + c.spectrumSeconds;
    double ceiling = cores * ranks / perLayerWindow;
    // One shrink of a 2ℓ × d buffer: Gram upper triangle (2ℓ)²/2·d and rotation d·2ℓ·ℓ
    // multiply-adds, 2 FLOP each; ranks − 1 of them per layer-window.
    double flopPerMerge = 2.0 * (2.0 * ell * ell * d + 2.0 * ell * ell * d);
    double flopPerLayerWindow = (ranks - 1) * flopPerMerge;
    double layerWindowsPerSecondFor10x = 10 * layers / 10.0;
    String compute =
        String.format(
            Locale.ROOT,
            "| %d | %d | %s | %.1f GFLOP/s | %s + %s | %.1f | %.2f | %.2f | %.2f G | %.0f G |",
            d,
            ell,
            duration(c.mergeSeconds),
            flopPerMerge / c.mergeSeconds / 1e9,
            duration(c.foldSeconds),
            duration(c.spectrumSeconds),
            ceiling,
            ceiling / needed,
            throughput / ceiling,
            flopPerLayerWindow / 1e9,
            flopPerLayerWindow * layerWindowsPerSecondFor10x / 1e9);
    return new String[] {e2e, compute};
  }

  /** Single-thread timings of the analysis of one layer-window, medians. */
  private record Compute(double mergeSeconds, double foldSeconds, double spectrumSeconds) {

    static Compute measure(CovarianceSnapshot[] parts, int d, int ell) {
      // Few repetitions where one merge takes seconds; the first run warms the JIT.
      int reps = d * (long) ell * ell > (1L << 28) ? 3 : 15;
      double merge = median(reps, () -> SnapshotMerge.merge(parts[0], parts[1]));
      CovarianceSnapshot[] merged = new CovarianceSnapshot[1];
      double fold =
          median(
              Math.max(1, reps / 3),
              () -> {
                CovarianceSnapshot acc = parts[0];
                for (int i = 1; i < parts.length; i++) {
                  acc = SnapshotMerge.merge(acc, parts[i]);
                }
                merged[0] = acc;
              });
      double spectrum =
          median(reps, () -> SpectralMeasures.of(Spectrum.of(merged[0]), FitRange.STUDY));
      return new Compute(merge, fold, spectrum);
    }

    /**
     * Median CPU time of the calling thread: the machine is shared, wall time would be its load.
     */
    private static double median(int reps, Runnable task) {
      ThreadMXBean threads = ManagementFactory.getThreadMXBean();
      task.run();
      double[] t = new double[reps];
      for (int i = 0; i < reps; i++) {
        long t0 = threads.getCurrentThreadCpuTime();
        task.run();
        t[i] = (threads.getCurrentThreadCpuTime() - t0) / 1e9;
      }
      Arrays.sort(t);
      return t[reps / 2];
    }
  }

  private static String duration(double seconds) {
    return seconds >= 1
        ? String.format(Locale.ROOT, "%.2f s", seconds)
        : String.format(Locale.ROOT, "%.1f ms", seconds * 1e3);
  }

  /** CPU seconds of this process and of the analysis worker threads so far. */
  private static double[] cpuSeconds() {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long analysis = 0;
    for (ThreadInfo t : threads.getThreadInfo(threads.getAllThreadIds())) {
      if (t != null && t.getThreadName().startsWith(AnalysisVerticle.POOL)) {
        analysis += Math.max(0, threads.getThreadCpuTime(t.getThreadId()));
      }
    }
    double process =
        ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime()
            / 1e9;
    return new double[] {process, analysis / 1e9};
  }

  /** CPU seconds per live thread group (thread names without digits), largest first. */
  private static String cpuByGroup() {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    Map<String, Double> groups = new HashMap<>();
    for (ThreadInfo t : threads.getThreadInfo(threads.getAllThreadIds())) {
      if (t != null) {
        groups.merge(
            t.getThreadName().replaceAll("[0-9]+", "N"),
            Math.max(0, threads.getThreadCpuTime(t.getThreadId())) / 1e9,
            Double::sum);
      }
    }
    StringBuilder out = new StringBuilder();
    groups.entrySet().stream()
        .sorted(Map.Entry.<String, Double>comparingByValue().reversed())
        .limit(12)
        .forEach(
            e -> out.append(String.format(Locale.ROOT, "%s=%.1f; ", e.getKey(), e.getValue())));
    return out.toString();
  }

  private static long gcMillis() {
    long sum = 0;
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      sum += Math.max(0, gc.getCollectionTime());
    }
    return sum;
  }

  /** The 1-minute load average of the machine (what {@code uptime} shows); NaN where unknown. */
  private static double loadAverage() {
    try {
      return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
    } catch (java.io.IOException | RuntimeException e) {
      return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }
  }

  /** One window's records, encoded, grouped by layer. */
  private static List<List<Encoded>> encodeWindow(
      String run, int layers, int ranks, long window, CovarianceSnapshot[] parts) {
    List<List<Encoded>> out = new ArrayList<>();
    for (int l = 0; l < layers; l++) {
      List<Encoded> layer = new ArrayList<>();
      for (int r = 0; r < ranks; r++) {
        SnapshotRecord rec = record(run, l, r, ranks, window, parts[r]);
        layer.add(
            new Encoded(
                rec.metadata().key().getBytes(StandardCharsets.UTF_8),
                SnapshotCodec.encode(rec, SnapshotCodec.DEFAULT_MAX_RECORD_BYTES)));
      }
      out.add(layer);
    }
    return out;
  }

  private record Encoded(byte[] key, List<byte[]> chunks) {}

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

  private static void send(KafkaProducer<byte[], byte[]> p, String topic, Encoded e) {
    for (byte[] value : e.chunks()) {
      ProducerRecord<byte[], byte[]> rec = new ProducerRecord<>(topic, e.key(), value);
      rec.headers()
          .add(
              SnapshotCodec.CONTENT_TYPE_HEADER,
              SnapshotCodec.CONTENT_TYPE.getBytes(StandardCharsets.UTF_8));
      p.send(rec);
    }
  }
}
