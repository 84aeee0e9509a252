package io.phasewatch.collector.service;

import io.phasewatch.collector.config.CollectorConfig;
import io.phasewatch.collector.config.ConfigLoader;
import io.phasewatch.collector.metrics.LayerState;
import io.phasewatch.collector.metrics.MetricNames;
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
 * End-to-end collector benchmark against a KRaft broker — in this process, or with {@code
 * --broker-process} as the first argument in a child JVM of its own: latency from the send of a
 * layer's last rank part to the merged window being visible in the state the gauges read (watched
 * on a thread of its own while the rest of the window is still being sent), and sustained snapshot
 * throughput. Each argument is one configuration {@code d:ell:ranks:layers:paced:flood:warmup}:
 * {@code warmup} uncounted windows, {@code paced} windows sent one at a time (all layers and ranks
 * at once, then wait until visible: latency), {@code flood} windows back to back (throughput; with
 * 0, throughput comes from the paced windows). All run in one process, side by side.
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
          + " | p50 / p99 timed from the window's last send (earlier harness)"
          + " | throughput (snapshots/s) | needed at 1 window / 10 s | throughput / needed"
          + " | cores the process got | analysis CPU per layer-window | GC pauses / wall"
          + " | load avg (1 min) |\n"
          + "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";

  private static final String HEADER_COMPUTE =
      "| d | ℓ | one merge | merge FLOP rate | fold pairwise (before) | fold by blocks"
          + " | pairwise / blocks | spectrum | ceiling on %d cores (snapshots/s) | ceiling / needed"
          + " | end-to-end / ceiling | FLOP per layer-window | FLOP/s for 10× |\n"
          + "|---|---|---|---|---|---|---|---|---|---|---|---|---|";

  private CollectorBenchmark() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 1 && args[0].equals(SERVE_BROKER)) {
      serveBroker();
      return;
    }
    boolean separate = args.length > 0 && args[0].equals("--broker-process");
    List<String> specs = Arrays.asList(args).subList(separate ? 1 : 0, args.length);
    List<String> e2e = new ArrayList<>();
    List<String> compute = new ArrayList<>();
    try (Broker broker = separate ? Broker.childProcess() : Broker.inProcess()) {
      for (String arg : specs) {
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

  private static final int MAX_QUEUED_WINDOWS = 16;
  private static final String SERVE_BROKER = "--serve-broker";
  private static final String BOOTSTRAP_LINE = "broker bootstrap=";

  /**
   * Where the benchmark's broker runs: in this process ({@link KafkaBroker#start()}, sharing its
   * heap, GC and CPU accounting with the collector), or in a child JVM of its own (same class path,
   * started by {@code --broker-process}), so that a profile of this process shows the collector and
   * the producer only.
   */
  private interface Broker extends AutoCloseable {
    String bootstrapServers();

    void createTopic(String topic, int partitions) throws Exception;

    /** CPU seconds the broker's own process used so far; NaN when it runs in this process. */
    default double processCpuSeconds() {
      return Double.NaN;
    }

    @Override
    void close();

    static Broker inProcess() throws Exception {
      KafkaBroker b = KafkaBroker.start();
      return new Broker() {
        @Override
        public String bootstrapServers() {
          return b.bootstrapServers();
        }

        @Override
        public void createTopic(String topic, int partitions) throws Exception {
          b.createTopic(topic, partitions);
        }

        @Override
        public void close() {
          b.close();
        }
      };
    }

    static Broker childProcess() throws Exception {
      String java = ProcessHandle.current().info().command().orElse("java");
      Process child =
          new ProcessBuilder(
                  java,
                  "-Xmx2g",
                  "-cp",
                  System.getProperty("java.class.path"),
                  CollectorBenchmark.class.getName(),
                  SERVE_BROKER)
              .redirectError(ProcessBuilder.Redirect.INHERIT)
              .start();
      var out =
          new java.io.BufferedReader(
              new java.io.InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
      String bootstrap = null;
      for (String line = out.readLine(); line != null; line = out.readLine()) {
        if (line.startsWith(BOOTSTRAP_LINE)) {
          bootstrap = line.substring(BOOTSTRAP_LINE.length());
          break;
        }
      }
      if (bootstrap == null) {
        child.destroyForcibly();
        throw new IllegalStateException("the broker process ended before it served");
      }
      // Keep reading what the child prints, so a full pipe never blocks the broker.
      Thread drain =
          new Thread(
              () -> {
                try {
                  while (out.readLine() != null) {
                    // discarded: the broker's log goes to standard error
                  }
                } catch (java.io.IOException e) {
                  // the child ended
                }
              },
              "broker-stdout");
      drain.setDaemon(true);
      drain.start();
      String servers = bootstrap;
      System.err.println("broker in process " + child.pid() + " at " + servers);
      return new Broker() {
        @Override
        public String bootstrapServers() {
          return servers;
        }

        @Override
        public void createTopic(String topic, int partitions) throws Exception {
          Properties p = new Properties();
          p.put(org.apache.kafka.clients.admin.AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
          try (var admin = org.apache.kafka.clients.admin.Admin.create(p)) {
            admin
                .createTopics(
                    List.of(
                        new org.apache.kafka.clients.admin.NewTopic(topic, partitions, (short) 1)))
                .all()
                .get(30, TimeUnit.SECONDS);
          }
        }

        @Override
        public double processCpuSeconds() {
          return child.info().totalCpuDuration().map(t -> t.toNanos() / 1e9).orElse(Double.NaN);
        }

        @Override
        public void close() {
          // The child serves until its standard input closes.
          try {
            child.getOutputStream().close();
            if (!child.waitFor(30, TimeUnit.SECONDS)) {
              child.destroyForcibly();
            }
          } catch (java.io.IOException e) {
            child.destroyForcibly();
          } catch (InterruptedException e) {
            child.destroyForcibly();
            Thread.currentThread().interrupt();
          }
        }
      };
    }
  }

  /** The child side of {@code --broker-process}: serve until standard input closes. */
  private static void serveBroker() throws Exception {
    try (KafkaBroker broker = KafkaBroker.start()) {
      System.out.println(BOOTSTRAP_LINE + broker.bootstrapServers());
      System.out.flush();
      while (System.in.read() >= 0) {
        // Wait for the parent to close the pipe (or to die).
      }
    }
  }

  private static String[] run(Broker broker, String spec) throws Exception {
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
    o.put("analysis.max-queued-windows", String.valueOf(MAX_QUEUED_WINDOWS));
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
    List<Stages> stageTimes = new ArrayList<>();
    List<Double> latenciesFromWindowEnd = new ArrayList<>();
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
      double brokerCpuStart = Double.NaN;
      // Paced: one window of all layers at once (what the ranks do every 10 s), then wait for it.
      // Warm-up windows (JIT, clients) are not counted. Records are encoded before the clock
      // starts, so the producer's encoding does not compete with the collector while it is timed.
      long pacedStart = 0;
      for (int w = -warmup; w < windows; w++, window++) {
        List<List<Encoded>> byLayer = encodeWindow(run, layers, ranks, window, parts);
        if (w == 0) {
          pacedStart = System.nanoTime();
          cpuStart = cpuSeconds();
          brokerCpuStart = broker.processCpuSeconds();
        }
        long[] sentAt = new long[layers];
        long sendStart = System.nanoTime();
        Stages stages = new Stages(sendStart);
        // Watched while it is sent: a layer visible before the last one is sent counts then.
        Watch watch =
            new Watch(
                service,
                run,
                layers,
                window,
                stages,
                (window + 1) * layers * (long) ranks,
                (window + 1) * layers);
        for (int l = 0; l < layers; l++) {
          byLayer.get(l).forEach(e -> send(producer, topic, e));
          producer.flush();
          sentAt[l] = System.nanoTime();
        }
        stages.sent = sentAt[layers - 1];
        long[] seenAt = watch.await();
        for (int l = 0; l < layers && w >= 0; l++) {
          latencies.add((seenAt[l] - sentAt[l]) / 1e9);
          // The earlier harness looked only once the whole window was sent: a layer visible
          // before that counted as visible then. Same run, same data, timed that way.
          latenciesFromWindowEnd.add((Math.max(seenAt[l], stages.sent) - sentAt[l]) / 1e9);
        }
        if (w >= 0) {
          stageTimes.add(stages);
          StringBuilder timeline = new StringBuilder();
          for (int l = 0; l < layers; l++) {
            timeline.append(
                String.format(
                    Locale.ROOT,
                    " %d:%.3f→%.3f",
                    l,
                    (sentAt[l] - sendStart) / 1e9,
                    (seenAt[l] - sendStart) / 1e9));
          }
          System.err.println(spec + " window " + w + " layer sent→visible (s):" + timeline);
        }
      }
      System.err.println(spec + " paced window stages (s from the first send): " + stageTimes);
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
        new Watch(service, run, layers, window - 1, null, 0, 0).await();
        double seconds = (System.nanoTime() - start) / 1e9;
        throughput = (window - first) * (double) layers * ranks / seconds;
      } else {
        throughput = windows * (double) layers * ranks / pacedSeconds;
      }
      gcShare = (gcMillis() - gcStart) / ((System.nanoTime() - wallStart) / 1e6);
      double[] cpuEnd = cpuSeconds();
      double countedWall = (System.nanoTime() - pacedStart) / 1e9;
      System.err.println(spec + " CPU by thread group (s, whole run): " + cpuByGroup());
      System.err.printf(
          Locale.ROOT,
          "%s timed part: %.1f s wall, this process %.1f CPU s, the broker's process %.1f CPU s%n",
          spec,
          countedWall,
          cpuEnd[0] - cpuStart[0],
          broker.processCpuSeconds() - brokerCpuStart);
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
    double[] late =
        latenciesFromWindowEnd.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    double needed = ranks * (double) layers / 10.0;
    String e2e =
        String.format(
            Locale.ROOT,
            "| %d | %d | %d × %d | %d + %d | %.3f s | %.3f s | %.2f | %.3f s / %.3f s | %.1f | %.1f |"
                + " %.2f | %.2f | %s | %.1f %% | %.2f |",
            d,
            ell,
            ranks,
            layers,
            windows,
            flood,
            p50,
            p99,
            p99 / 1.0,
            percentile(late, 0.50),
            percentile(late, 0.99),
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
    // multiply-adds, 2 FLOP each. The block fold does the first of the ranks − 1 merges so, and
    // every later one without the accumulated rows' own block of the Gram (ℓ²d/2 fewer).
    double flopPerMerge = 2.0 * (2.0 * ell * ell * d + 2.0 * ell * ell * d);
    double flopPerLayerWindow = flopPerMerge + (ranks - 2) * 2.0 * (3.5 * ell * ell * d);
    double layerWindowsPerSecondFor10x = 10 * layers / 10.0;
    String compute =
        String.format(
            Locale.ROOT,
            "| %d | %d | %s | %.1f GFLOP/s | %s | %s | %.2f | %s | %.1f | %.2f | %.2f | %.2f G |"
                + " %.0f G |",
            d,
            ell,
            duration(c.mergeSeconds),
            flopPerMerge / c.mergeSeconds / 1e9,
            duration(c.pairwiseFoldSeconds),
            duration(c.foldSeconds),
            c.pairwiseFoldSeconds / c.foldSeconds,
            duration(c.spectrumSeconds),
            ceiling,
            ceiling / needed,
            throughput / ceiling,
            flopPerLayerWindow / 1e9,
            flopPerLayerWindow * layerWindowsPerSecondFor10x / 1e9);
    return new String[] {e2e, compute};
  }

  /**
   * Single-thread timings of the analysis of one layer-window, medians: one pairwise merge, the
   * fold of all ranks as the collector does it ({@code SnapshotMerge.mergeAll}) and, side by side,
   * as pairwise merges ({@code mergePairwise}, the fold before the block fold), and the spectrum.
   */
  private record Compute(
      double mergeSeconds, double pairwiseFoldSeconds, double foldSeconds, double spectrumSeconds) {

    static Compute measure(CovarianceSnapshot[] parts, int d, int ell) {
      // Few repetitions where one merge takes seconds; the first run warms the JIT.
      int reps = d * (long) ell * ell > (1L << 28) ? 3 : 15;
      double merge = median(reps, () -> SnapshotMerge.merge(parts[0], parts[1]));
      List<CovarianceSnapshot> all = List.of(parts);
      CovarianceSnapshot[] merged = new CovarianceSnapshot[1];
      // Alternated, so that a change of the machine's load falls on both alike.
      int foldReps = Math.max(3, reps / 3);
      double[] pairwise = new double[foldReps];
      double[] blocks = new double[foldReps];
      ThreadMXBean threads = ManagementFactory.getThreadMXBean();
      SnapshotMerge.mergePairwise(all);
      SnapshotMerge.mergeAll(all);
      for (int i = 0; i < foldReps; i++) {
        long t0 = threads.getCurrentThreadCpuTime();
        SnapshotMerge.mergePairwise(all);
        long t1 = threads.getCurrentThreadCpuTime();
        merged[0] = SnapshotMerge.mergeAll(all);
        long t2 = threads.getCurrentThreadCpuTime();
        pairwise[i] = (t1 - t0) / 1e9;
        blocks[i] = (t2 - t1) / 1e9;
      }
      double spectrum =
          median(reps, () -> SpectralMeasures.of(Spectrum.of(merged[0]), FitRange.STUDY));
      return new Compute(merge, medianOf(pairwise), medianOf(blocks), spectrum);
    }

    private static double medianOf(double[] t) {
      double[] sorted = t.clone();
      Arrays.sort(sorted);
      return sorted[sorted.length / 2];
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

  /**
   * Where one paced window's time goes, in seconds from its first send: the producer's last ack,
   * the collector's ingest of every part (decoded and admitted), every layer's ranks grouped and
   * handed to the analysis, and the last layer visible.
   */
  private static final class Stages {
    final long start;
    volatile long sent;
    volatile long ingested;
    volatile long merged;
    volatile long visible;
    // The most merged windows waiting for or in analysis at once: at the bound
    // (analysis.max-queued-windows) the ingest thread waits for room.
    volatile int maxInFlight;

    Stages(long start) {
      this.start = start;
    }

    @Override
    public String toString() {
      return String.format(
          Locale.ROOT,
          "[sent %.3f, ingested %.3f, merged %.3f, visible %.3f, in analysis ≤ %d]",
          (sent - start) / 1e9,
          (ingested - start) / 1e9,
          (merged - start) / 1e9,
          (visible - start) / 1e9,
          maxInFlight);
    }
  }

  /**
   * Watches the collector's state on a thread of its own from before the window's first send, every
   * millisecond: the time each layer's window {@code window} first shows, and the {@link Stages}.
   */
  private static final class Watch {
    private final long[] seen;
    private final Thread thread;
    private InterruptedException failure;

    Watch(
        CollectorService s,
        String run,
        int layers,
        long window,
        Stages stages,
        long ingestedTarget,
        long mergedTarget) {
      seen = new long[layers];
      thread =
          new Thread(
              () -> {
                try {
                  watch(s, run, window, stages, ingestedTarget, mergedTarget);
                } catch (InterruptedException e) {
                  failure = e;
                }
              },
              "bench-watch");
      thread.setDaemon(true);
      thread.start();
    }

    long[] await() throws InterruptedException {
      thread.join();
      if (failure != null) {
        throw failure;
      }
      return seen;
    }

    private void watch(
        CollectorService s,
        String run,
        long window,
        Stages stages,
        long ingestedTarget,
        long mergedTarget)
        throws InterruptedException {
      int layers = seen.length;
      int remaining = layers;
      var ingested = s.registry().find(MetricNames.SNAPSHOTS_INGESTED).counter();
      var merged = s.registry().find(MetricNames.MERGE_WAIT).timer();
      while (remaining > 0) {
        Map<String, LayerState> latest = s.state().latest().getOrDefault(run, Map.of());
        long now = System.nanoTime();
        if (stages != null) {
          stages.maxInFlight = Math.max(stages.maxInFlight, s.windowsInFlight());
          if (stages.ingested == 0 && ingested != null && ingested.count() >= ingestedTarget) {
            stages.ingested = now;
          }
          if (stages.merged == 0 && merged != null && merged.count() >= mergedTarget) {
            stages.merged = now;
          }
        }
        for (int l = 0; l < layers; l++) {
          LayerState st = latest.get(layerName(l));
          if (seen[l] == 0 && st != null && st.windowId() >= window) {
            seen[l] = now;
            remaining--;
          }
        }
        Thread.sleep(1);
      }
      if (stages != null) {
        stages.visible = System.nanoTime();
        stages.ingested = stages.ingested == 0 ? stages.visible : stages.ingested;
        stages.merged = stages.merged == 0 ? stages.visible : stages.merged;
      }
    }
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
