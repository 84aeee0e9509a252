package io.phasewatch.agent.spool;

import static io.phasewatch.agent.metrics.AgentMetricNames.*;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.phasewatch.agent.config.AgentConfig;
import io.phasewatch.agent.publish.KafkaSnapshotPublisher;
import io.phasewatch.agent.publish.SnapshotEncoder;
import io.phasewatch.agent.publish.SnapshotPublisher;
import io.phasewatch.core.arrays.ArrayFormatException;
import io.phasewatch.core.arrays.MatrixFiles;
import io.phasewatch.core.sketch.CovarianceSketch;
import io.phasewatch.core.sketch.CovarianceSnapshot;
import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.core.sketch.Float32Moment;
import io.phasewatch.core.sketch.FrequentDirections;
import io.phasewatch.core.sketch.RowSample;
import io.phasewatch.core.wire.SnapshotMetadata;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.TrainingScalars;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Drains a spool folder ({@code docs/spool.md}): each complete file, oldest first, is read with
 * {@link MatrixFiles}, every matrix in it folded into a fresh sketch (one file = one window of its
 * (run, stage, rank, layer, step)), and the snapshots handed to the publisher; then the file's key
 * is journaled and the file deleted or moved to {@code done/}. Bad files go to {@code rejected/}
 * with a reason file. All work happens on one thread: {@link #drainOnce()} is the whole algorithm,
 * {@link #start} runs it on a file-system watch plus a periodic scan.
 */
public final class SpoolSidecar implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(SpoolSidecar.class.getName());

  /** The journal's file name inside the spool; a dot-name, so it is never read as data. */
  public static final String JOURNAL = ".phasewatch-journal";

  /** Where pending snapshots wait for the broker unless {@code publish.spool-dir} is set. */
  public static final String OUTBOX = ".phasewatch-outbox";

  public static final String DONE = "done";
  public static final String REJECTED = "rejected";

  /**
   * Files one scan considers; a folder holding more is worked through over several scans, so a
   * flood of tiny files cannot make the sidecar's memory grow without bound.
   */
  public static final int MAX_FILES_PER_SCAN = 65_536;

  /** The first summary comes this soon after start (or at summary-interval, if sooner). */
  static final Duration FIRST_SUMMARY = Duration.ofSeconds(30);

  /**
   * The last rank of the study's α fit window (12…100): a window of n rows and width d has at most
   * min(n − 1, d) nonzero covariance eigenvalues, so below this the collector fits its fallback.
   */
  static final int STUDY_FIT_LAST = 100;

  // Rows per block handed to the sketch: a few MiB of floats at most, whatever d is.
  private static final int BLOCK_VALUES = 1 << 20;

  private final SidecarConfig.Spool spool;
  private final AgentConfig agent;
  private final SnapshotPublisher publisher;
  private final MeterRegistry registry;
  private final SpoolJournal journal;
  private final Counter filesPublished;
  private final Counter windowsHanded;
  private final Counter rowsFolded;
  private final Counter rowsNonFinite;
  private final Counter alreadyPublished;
  private final AtomicLong pendingFiles = new AtomicLong();
  private final AtomicLong pendingBytes = new AtomicLong();
  private final Object lock = new Object();

  /**
   * The scalars of the latest {@code .scalars} file of each (run, rank), for the array files of its
   * step; bounded, the least recently written going first.
   */
  private final Map<String, HeldScalars> scalars =
      new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, HeldScalars> eldest) {
          return size() > MAX_HELD_SCALARS;
        }
      };

  private static final int MAX_HELD_SCALARS = 1024;

  private record HeldScalars(long step, TrainingScalars scalars) {}

  private Thread thread;
  private WatchService watch;
  private volatile boolean stopping;
  private long nextSummaryNanos;
  private boolean loggedFirstFile;
  // Layers (run/layer) already warned about windows too small for the study's fit; bounded.
  private final java.util.Set<String> warnedSmall = new java.util.HashSet<>();

  private SpoolSidecar(SidecarConfig config, SnapshotPublisher publisher, MeterRegistry registry)
      throws IOException {
    this.spool = config.spool();
    this.agent = config.agent();
    this.publisher = publisher;
    this.registry = registry;
    Files.createDirectories(spool.dir());
    this.journal =
        SpoolJournal.open(spool.dir().resolve(JOURNAL), key -> Files.exists(fileOf(key)));
    this.filesPublished =
        Counter.builder(SIDECAR_FILES_DONE)
            .description("files whose snapshots were handed to the publisher and journaled")
            .register(registry);
    this.windowsHanded = Counter.builder(SIDECAR_WINDOWS_HANDED).register(registry);
    this.rowsFolded = Counter.builder(SIDECAR_ROWS_FOLDED).baseUnit("rows").register(registry);
    this.rowsNonFinite =
        Counter.builder(SIDECAR_ROWS_NONFINITE)
            .description("rows holding NaN or ±Inf, left out of the sketch")
            .baseUnit("rows")
            .register(registry);
    this.alreadyPublished =
        Counter.builder(SIDECAR_FILES_ALREADY_PUBLISHED)
            .description("files found in the journal after a restart: cleaned up, not re-sent")
            .register(registry);
    Gauge.builder(SIDECAR_PENDING_FILES, pendingFiles, AtomicLong::get).register(registry);
    Gauge.builder(SIDECAR_PENDING_BYTES, pendingBytes, AtomicLong::get)
        .baseUnit("bytes")
        .register(registry);
    this.nextSummaryNanos =
        System.nanoTime() + Math.min(FIRST_SUMMARY.toNanos(), agent.summaryInterval().toNanos());
  }

  /**
   * A sidecar handing snapshots to {@code publisher} (which it closes on {@link #close}); no thread
   * is started until {@link #start()}.
   */
  public static SpoolSidecar withPublisher(
      SidecarConfig config, SnapshotPublisher publisher, MeterRegistry registry)
      throws IOException {
    return new SpoolSidecar(config, publisher, registry);
  }

  /**
   * A sidecar publishing to Kafka with wire format v1. Pending snapshots wait on disk in {@code
   * publish.spool-dir}, by default {@value #OUTBOX} inside the spool, so a snapshot journaled as
   * handed over survives a restart of the sidecar.
   */
  public static SpoolSidecar withKafka(SidecarConfig config, MeterRegistry registry)
      throws IOException {
    AgentConfig.Publish p = config.agent().publish();
    if (!p.enabled()) {
      // As in the agent: sketched, not sent, and counted.
      Counter disabled = snapshotsDropped(registry, "publish_disabled");
      return new SpoolSidecar(
          config,
          new SnapshotPublisher() {
            @Override
            public void publish(SnapshotRecord record) {
              disabled.increment();
            }

            @Override
            public void close(Duration drainTimeout) {}
          },
          registry);
    }
    if (p.spoolDir().isEmpty()) {
      p =
          new AgentConfig.Publish(
              p.enabled(),
              p.topic(),
              p.maxRecordBytes(),
              p.bufferSnapshots(),
              p.bufferBytes(),
              Optional.of(config.spool().dir().resolve(OUTBOX)),
              p.spoolMaxBytes(),
              p.retryBackoff(),
              p.retryBackoffMax(),
              p.kafka());
    }
    var publisher = KafkaSnapshotPublisher.start(p, SnapshotEncoder.v1(), registry);
    return new SpoolSidecar(config, publisher, registry);
  }

  /** Starts the drain thread: a watch on the folder, and a full scan every scan-interval. */
  public SpoolSidecar start() throws IOException {
    watch = FileSystems.getDefault().newWatchService();
    spool
        .dir()
        .register(
            watch, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY);
    thread = new Thread(this::loop, "phasewatch-spool");
    thread.setDaemon(true);
    thread.start();
    return this;
  }

  private void loop() {
    while (!stopping) {
      try {
        drainOnce();
        summaryIfDue();
        var key = watch.poll(spool.scanInterval().toMillis(), TimeUnit.MILLISECONDS);
        if (key != null) {
          key.pollEvents();
          key.reset();
        }
      } catch (InterruptedException | ClosedWatchServiceException e) {
        break;
      } catch (IOException | RuntimeException e) {
        // A failing scan (folder gone, permissions) must not end the sidecar; try again later.
        Counter.builder(SIDECAR_FAILURES).tag(TAG_PART, "scan").register(registry).increment();
        LOG.log(Level.WARNING, "phasewatch sidecar: scan of " + spool.dir() + " failed: " + e);
        try {
          Thread.sleep(spool.scanInterval().toMillis());
        } catch (InterruptedException ie) {
          break;
        }
      }
    }
  }

  private record Pending(Path path, String name, long size, long mtime, long step) {}

  /**
   * One pass: lists the complete files, drops the oldest beyond {@code spool.max-bytes}, then
   * publishes or rejects each, oldest first. Returns the number of files taken off the spool.
   */
  public int drainOnce() throws IOException {
    synchronized (lock) {
      List<Pending> pending = new ArrayList<>();
      int handled = 0;
      try (DirectoryStream<Path> dir = Files.newDirectoryStream(spool.dir())) {
        for (Path p : dir) {
          if (pending.size() >= MAX_FILES_PER_SCAN) {
            break;
          }
          String name = p.getFileName().toString();
          if (name.startsWith(".")) {
            continue;
          }
          BasicFileAttributes a;
          try {
            a = Files.readAttributes(p, BasicFileAttributes.class);
          } catch (NoSuchFileException e) {
            continue;
          }
          if (!a.isRegularFile()) {
            continue;
          }
          long step;
          try {
            step = SpoolName.parse(name).step();
          } catch (IllegalArgumentException e) {
            reject(p, "name", e.getMessage());
            handled++;
            continue;
          }
          pending.add(new Pending(p, name, a.size(), a.lastModifiedTime().toMillis(), step));
        }
      }
      // Files published before a restart need only their clean-up; their bytes are not backlog.
      for (var it = pending.iterator(); it.hasNext(); ) {
        Pending p = it.next();
        if (journal.contains(key(p))) {
          alreadyPublished.increment();
          finish(p.path());
          journal.forget(key(p));
          it.remove();
          handled++;
        }
      }
      // Within a step the scalars file goes first: the array files of the step carry its values.
      pending.sort(
          Comparator.comparingLong(Pending::step)
              .thenComparing(p -> !p.name().endsWith(SpoolName.Format.SCALARS.extension()))
              .thenComparingLong(Pending::mtime)
              .thenComparing(Pending::name));
      long total = pending.stream().mapToLong(Pending::size).sum();
      int first = 0;
      while (total > spool.maxBytes() && first < pending.size()) {
        Pending oldest = pending.get(first++);
        Files.deleteIfExists(oldest.path());
        total -= oldest.size();
        handled++;
        Counter.builder(SIDECAR_FILES_DROPPED)
            .tag(TAG_REASON, "dropped_backlog")
            .register(registry)
            .increment();
        LOG.warning(
            "phasewatch sidecar: dropped "
                + oldest.name()
                + " unread: spool holds more than spool.max-bytes="
                + spool.maxBytes());
      }
      pendingFiles.set(pending.size() - first);
      pendingBytes.set(total);
      for (int i = first; i < pending.size() && !stopping; i++) {
        Pending p = pending.get(i);
        handle(p);
        handled++;
        pendingFiles.decrementAndGet();
        pendingBytes.addAndGet(-p.size());
      }
      return handled;
    }
  }

  private static String key(Pending p) {
    return p.name() + "\t" + p.size() + "\t" + p.mtime();
  }

  private Path fileOf(String journalKey) {
    int tab = journalKey.indexOf('\t');
    return spool.dir().resolve(tab < 0 ? journalKey : journalKey.substring(0, tab));
  }

  private void handle(Pending p) throws IOException {
    String key = key(p);
    SpoolName meta = SpoolName.parse(p.name());
    if (meta.format() == SpoolName.Format.SCALARS) {
      holdScalars(p, meta);
      return;
    }
    HeldScalars held = scalars.get(meta.run() + "\u0000" + meta.rank());
    TrainingScalars stepScalars =
        held != null && held.step() == meta.step() ? held.scalars() : TrainingScalars.empty();
    if (p.size() > spool.maxFileBytes()) {
      reject(
          p.path(),
          "too_large",
          "file of " + p.size() + " bytes exceeds spool.max-file-bytes=" + spool.maxFileBytes());
      return;
    }
    List<SnapshotRecord> records = new ArrayList<>();
    try {
      MatrixFiles.read(
          p.path(),
          (info, rows) -> {
            if (records.size() >= spool.maxArrays()) {
              throw new ArrayFormatException(
                  "more than " + spool.maxArrays() + " arrays, limit spool.max-arrays");
            }
            String layer = meta.layer().orElse(info.name());
            String where = meta.layer().isPresent() ? "" : "array '" + layer + "': ";
            if (layer.isEmpty()) {
              throw new ArrayFormatException("an array has an empty name (the layer name)");
            }
            if (info.cols() < 1) {
              throw new ArrayFormatException(where + "d = 0 columns");
            }
            if (info.cols() > spool.maxColumns()) {
              throw new ArrayFormatException(
                  where
                      + "d = "
                      + info.cols()
                      + " columns exceeds spool.max-columns="
                      + spool.maxColumns());
            }
            CovarianceSketch sketch = sketchFor(layer, info.cols(), meta.world(), where);
            int blockRows = Math.max(1, Math.min(4096, BLOCK_VALUES / info.cols()));
            double[] block = new double[blockRows * info.cols()];
            int got;
            while ((got = rows.read(block, blockRows)) > 0) {
              sketch.update(block, got);
            }
            records.add(
                new SnapshotRecord(metadata(meta, layer, p), sketch.snapshot(), stepScalars));
          });
    } catch (NoSuchFileException e) {
      Counter.builder(SIDECAR_FILES_VANISHED).register(registry).increment();
      return;
    } catch (ArrayFormatException e) {
      reject(p.path(), "array", e.getMessage());
      return;
    } catch (IOException e) {
      reject(p.path(), "io", "cannot read: " + e);
      return;
    }
    if (records.isEmpty()) {
      reject(p.path(), "array", "holds no arrays");
      return;
    }
    for (SnapshotRecord r : records) {
      CovarianceSnapshot s = r.snapshot();
      rowsFolded.increment(s.count());
      rowsNonFinite.increment(s.nonFiniteRows());
      warnIfTooSmallForTheStudy(r);
      publisher.publish(r);
      windowsHanded.increment();
    }
    if (!loggedFirstFile) {
      loggedFirstFile = true;
      SnapshotRecord r = records.get(0);
      LOG.info(
          "phasewatch sidecar: first file "
              + p.name()
              + " handed to the publisher: "
              + records.size()
              + (records.size() == 1 ? " window" : " windows")
              + ", "
              + r.snapshot().count()
              + " x "
              + r.snapshot().dimension()
              + " rows in "
              + r.metadata().layer());
    }
    journal.add(key, k -> Files.exists(fileOf(k)));
    finish(p.path());
    journal.forget(key);
    filesPublished.increment();
  }

  /** One warning per (run, layer), at most 1024 of them: the trainer's windows are too small. */
  private void warnIfTooSmallForTheStudy(SnapshotRecord r) {
    long n = r.snapshot().count();
    int d = r.snapshot().dimension();
    long eigenvalues = Math.max(0, Math.min(n - 1, d));
    if (eigenvalues >= STUDY_FIT_LAST || warnedSmall.size() >= 1024) {
      return;
    }
    if (warnedSmall.add(r.metadata().key())) {
      LOG.warning(
          "phasewatch sidecar: "
              + r.metadata().key()
              + " step "
              + r.metadata().step()
              + ": "
              + n
              + " rows of width "
              + d
              + " give at most "
              + eigenvalues
              + " nonzero covariance eigenvalues; the study's alpha window 12..100 needs "
              + STUDY_FIT_LAST
              + " (at least "
              + (STUDY_FIT_LAST + 1)
              + " rows per window and d >= "
              + STUDY_FIT_LAST
              + "), so the collector fits its fallback window; said once per layer");
    }
  }

  /**
   * Reads a {@code .scalars} file and keeps its values for the array files of its step, which sort
   * after it; the file itself is then done. Its values reach the collector with those snapshots.
   */
  private void holdScalars(Pending p, SpoolName meta) throws IOException {
    if (p.size() > ScalarsFile.MAX_BYTES) {
      reject(
          p.path(),
          "too_large",
          "scalars file of " + p.size() + " bytes exceeds " + ScalarsFile.MAX_BYTES);
      return;
    }
    ScalarsFile file;
    try {
      file = ScalarsFile.parse(Files.readString(p.path(), StandardCharsets.UTF_8));
    } catch (NoSuchFileException e) {
      Counter.builder(SIDECAR_FILES_VANISHED).register(registry).increment();
      return;
    } catch (IllegalArgumentException | java.nio.charset.CharacterCodingException e) {
      reject(p.path(), "scalars", e.getMessage());
      return;
    }
    if (file.nonFinite() > 0) {
      Counter.builder(SIDECAR_SCALARS_DROPPED)
          .tag(TAG_REASON, "non_finite")
          .register(registry)
          .increment(file.nonFinite());
    }
    scalars.put(meta.run() + "\u0000" + meta.rank(), new HeldScalars(meta.step(), file.scalars()));
    finish(p.path());
  }

  private CovarianceSketch sketchFor(String layer, int d, int worldSize, String where)
      throws ArrayFormatException {
    var choice = agent.sketch().choose(layer, d);
    try {
      return switch (choice.kind()) {
        case EXACT -> ExactSummary.ofDimension(d);
        case EXACT32 -> Float32Moment.ofDimension(d);
        case SAMPLE -> RowSample.withCapacity(agent.sketch().sampleCapacity(worldSize, d), d);
        case FD -> FrequentDirections.withRows(choice.fdRows(), d);
      };
    } catch (IllegalArgumentException e) {
      throw new ArrayFormatException(where + "no sketch for d = " + d + ": " + e.getMessage());
    }
  }

  private static SnapshotMetadata metadata(SpoolName meta, String layer, Pending p) {
    // One file is one window; its step is the window's id, so ranks writing the same step
    // produce the same window id and the collector merges them.
    return new SnapshotMetadata(
        meta.run(),
        meta.stage(),
        meta.rank(),
        meta.world(),
        layer,
        meta.step(),
        meta.step(),
        meta.tokens(),
        p.mtime(),
        0);
  }

  /** Deletes a published file or moves it to done/. */
  private void finish(Path file) throws IOException {
    if (spool.keepDone()) {
      Path done = spool.dir().resolve(DONE);
      Files.createDirectories(done);
      Files.move(file, done.resolve(file.getFileName()), StandardCopyOption.REPLACE_EXISTING);
      trim(done);
    } else {
      Files.deleteIfExists(file);
    }
  }

  private void reject(Path file, String reason, String message) throws IOException {
    String name = file.getFileName().toString();
    String line = message.replace('\n', ' ').replace('\r', ' ');
    Counter.builder(SIDECAR_FILES_REJECTED).tag(TAG_REASON, reason).register(registry).increment();
    LOG.warning("phasewatch sidecar: rejected " + name + ": " + line);
    Path dir = spool.dir().resolve(REJECTED);
    Files.createDirectories(dir);
    try {
      Files.move(file, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
    } catch (NoSuchFileException e) {
      return;
    }
    Files.writeString(dir.resolve(name + ".reason"), line + "\n", StandardCharsets.UTF_8);
    trim(dir);
  }

  /** Keeps at most spool.keep-max-files data files in a done/ or rejected/ folder, newest kept. */
  private void trim(Path dir) throws IOException {
    List<Path> files = new ArrayList<>();
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
      for (Path p : s) {
        if (!p.getFileName().toString().endsWith(".reason")) {
          files.add(p);
        }
      }
    }
    if (files.size() <= spool.keepMaxFiles()) {
      return;
    }
    files.sort(Comparator.comparingLong(SpoolSidecar::mtime));
    for (int i = 0; i < files.size() - spool.keepMaxFiles(); i++) {
      Files.deleteIfExists(files.get(i));
      Files.deleteIfExists(dir.resolve(files.get(i).getFileName() + ".reason"));
    }
  }

  private static long mtime(Path p) {
    try {
      return Files.getLastModifiedTime(p).toMillis();
    } catch (IOException e) {
      return Long.MIN_VALUE;
    }
  }

  private void summaryIfDue() {
    long now = System.nanoTime();
    if (now - nextSummaryNanos < 0) {
      return;
    }
    nextSummaryNanos = now + agent.summaryInterval().toNanos();
    LOG.info(summary());
  }

  /** The one-line summary logged every {@code summary-interval}. */
  public String summary() {
    double rejected =
        registry.find(SIDECAR_FILES_REJECTED).counters().stream().mapToDouble(Counter::count).sum();
    double dropped =
        registry.find(SIDECAR_FILES_DROPPED).counters().stream().mapToDouble(Counter::count).sum();
    // The publisher's side: snapshots handed over but not yet acknowledged by the broker (its
    // outbox), and those it gave up on. Without these a broker outage reads as "pending 0".
    double outbox = gauge(PUBLISH_PENDING);
    double outboxBytes = gauge(PUBLISH_PENDING_BYTES);
    double published = counter(WINDOWS_PUBLISHED);
    double notSent =
        registry.find(SNAPSHOTS_DROPPED).counters().stream().mapToDouble(Counter::count).sum();
    return String.format(
        java.util.Locale.ROOT,
        "phasewatch sidecar: %s: done %.0f files (%.0f windows, %.0f rows, %.0f non-finite),"
            + " rejected %.0f, dropped %.0f, pending %d files / %d bytes;"
            + " publisher: sent %.0f, outbox %.0f snapshots / %.0f bytes, not sent %.0f",
        spool.dir(),
        filesPublished.count(),
        windowsHanded.count(),
        rowsFolded.count(),
        rowsNonFinite.count(),
        rejected,
        dropped,
        pendingFiles.get(),
        pendingBytes.get(),
        published,
        outbox,
        outboxBytes,
        notSent);
  }

  private double gauge(String name) {
    var g = registry.find(name).gauge();
    return g == null ? 0 : g.value();
  }

  private double counter(String name) {
    var c = registry.find(name).counter();
    return c == null ? 0 : c.count();
  }

  /** Stops the thread, then gives the publisher up to {@code drainTimeout} to deliver. */
  public void close(Duration drainTimeout) {
    stopping = true;
    if (watch != null) {
      try {
        watch.close();
      } catch (IOException e) {
        LOG.log(Level.FINE, "phasewatch sidecar: closing the watch failed", e);
      }
    }
    if (thread != null) {
      try {
        thread.join(30_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    synchronized (lock) {
      publisher.close(drainTimeout);
      try {
        journal.close();
      } catch (IOException e) {
        LOG.log(Level.FINE, "phasewatch sidecar: closing the journal failed", e);
      }
    }
    LOG.info(summary());
  }

  @Override
  public void close() {
    close(Duration.ofSeconds(10));
  }
}
