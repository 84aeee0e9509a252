package io.phasewatch.collector.bench;

import static org.bytedeco.openblas.global.openblas.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas.CblasTrans;
import static org.bytedeco.openblas.global.openblas.CblasUpper;
import static org.bytedeco.openblas.global.openblas.LAPACKE_dsyevd;
import static org.bytedeco.openblas.global.openblas.LAPACK_COL_MAJOR;
import static org.bytedeco.openblas.global.openblas.cblas_dsyrk;

import io.phasewatch.collector.spectrum.FitRange;
import io.phasewatch.collector.spectrum.PowerLawRows;
import io.phasewatch.collector.spectrum.SnapshotMerge;
import io.phasewatch.collector.spectrum.SpectralMeasures;
import io.phasewatch.collector.spectrum.Spectrum;
import io.phasewatch.core.sketch.CovarianceSketch;
import io.phasewatch.core.sketch.CovarianceSnapshot;
import io.phasewatch.core.sketch.DefaultSummary;
import io.phasewatch.core.sketch.FdSnapshot;
import io.phasewatch.core.sketch.Float32Moment;
import io.phasewatch.core.sketch.RowSample;
import io.phasewatch.core.sketch.RowSampleSnapshot;
import io.phasewatch.core.wire.ChunkAssembler;
import io.phasewatch.core.wire.DecodeLimits;
import io.phasewatch.core.wire.SnapshotCodec;
import io.phasewatch.core.wire.SnapshotMetadata;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.Stage;
import io.phasewatch.core.wire.WireFormatException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * RankMe and α of the default route (whatever {@link DefaultSummary} picks for the width: the
 * float32 co-moment of every row for 1024 < d ≤ 2688, the row sample wider), of the row sample fed
 * the same rows, and of Frequent Directions — the previous default ℓ = 256 interval centre, and ℓ =
 * 512 with the shrinkage added back and a power-law tail carrying the exactly known dropped
 * variance — against the study's computation, window by window, with 8 ranks. A measurement, not a
 * pass/fail.
 *
 * <p>Windows: probe passes of N = 256, 1024, 4096 rows and a live window of 50,000 rows, split
 * evenly over the ranks; rows from {@link PowerLawRows} (population spectrum {@code k^-a}, a mean
 * offset, a non-axis basis), or any {@link RowSource} given to {@link #run} (the demo module's
 * {@code HiddenStateAccuracyBenchmark} feeds a small model's hidden states). Each rank's default
 * snapshot goes through the wire codec and the chunk assembler before the collector's merge and
 * spectrum. References: the exact computation on the rows the default route describes (a row
 * sample's merged rows; every row for a co-moment summary), and on all rows of the window — for the
 * live window through the d × d co-moment streamed block by block into one double Gram (OpenBLAS
 * {@code dsyrk}), centred in place and solved in place ({@code dsyevd}), for probe passes through
 * the Gram matrix of all rows. FD sketches are built per rank from blocks of ℓ rows with the
 * collector's LAPACK merge ({@link SnapshotMerge}, the shrink {@code FrequentDirections.merge}
 * defines) and merged over the ranks.
 *
 * <p>Also printed: the cost of the default route at each d — which summary it is, agent memory per
 * layer, wire bytes of one rank's snapshot, the collector's CPU per layer-window (merge of the
 * ranks and the spectrum; median of 3, CPU time of this thread), and the sketch thread's CPU per
 * row of the default summary next to that of the row sample fed the same rows.
 *
 * <p>Run: the command in docs/benchmarks.md ("Accuracy of the default route"); at d = 8192 the live
 * reference needs {@code -Xmx6g} (one 512 MiB Gram, FD sketches of the 8 ranks). Options: {@code
 * -Dbench.dims=2048,4096,8192}, {@code -Dbench.as=0.8,1.0,1.5}, {@code
 * -Dbench.windows=256,1024,4096,50000}, {@code -Dbench.fd=true} (the FD columns), {@code
 * -Dbench.liveAllRows=true} (the live window's d × d reference over all its rows, and the FD
 * columns there), {@code -Dbench.ranks=8}.
 */
public final class SummaryAccuracyBenchmark {

  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  private SummaryAccuracyBenchmark() {}

  public static void main(String[] args) throws WireFormatException {
    int[] dims = ints(System.getProperty("bench.dims", "2048,4096,8192"));
    double[] as = doubles(System.getProperty("bench.as", "0.8,1.0,1.5"));
    int[] windows = ints(System.getProperty("bench.windows", "256,1024,4096,50000"));
    boolean fd = Boolean.parseBoolean(System.getProperty("bench.fd", "true"));
    boolean liveAllRows = Boolean.parseBoolean(System.getProperty("bench.liveAllRows", "true"));
    int ranks = Integer.getInteger("bench.ranks", 8);
    printHeader();
    List<String> costs = new ArrayList<>();
    for (int d : dims) {
      for (double a : as) {
        for (int n : windows) {
          PowerLawRows source = new PowerLawRows(d, a, 1000L * d + Math.round(100 * a) + n);
          String label = String.format(Locale.ROOT, "%.1f", a);
          costs.add(run(label, d, n, ranks, fd, liveAllRows, source::next));
        }
      }
    }
    printFooter(costs);
  }

  /** The rows of one window, block by block, in order. */
  @FunctionalInterface
  public interface RowSource {
    /** The next {@code n} rows, row-major {@code n × d}. */
    float[] next(int n);
  }

  /** Prints the accuracy table's header (the table {@link #run} prints rows of). */
  public static void printHeader() {
    System.out.println(
        "| d | rows | window rows | rows described | RankMe exact (described) | RankMe default"
            + " (error) | α exact (described) | α default (error) | RankMe exact (all rows) | α"
            + " exact (all rows) | RankMe default (error vs all) | α default (error vs all) |"
            + " RankMe FD ℓ=256 (error vs all) | α FD ℓ=256 (error) | RankMe FD ℓ=512 comp."
            + " (error) | α FD ℓ=512 comp. (error) | RankMe row sample (error vs all) | α row"
            + " sample (error vs all) |");
    System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  }

  /** Prints the cost table of the cells {@link #run} returned, and the machine's state. */
  public static void printFooter(List<String> costs) {
    System.out.println();
    System.out.println(
        "| d | rows | window rows | default summary | agent memory per layer | wire bytes per"
            + " snapshot (one rank) | collector CPU per layer-window (merge + spectrum) | sketch"
            + " thread per row: default | sketch thread per row: row sample |");
    System.out.println("|---|---|---|---|---|---|---|---|---|");
    costs.forEach(System.out::println);
    System.out.printf(
        Locale.ROOT,
        "%n(java %s, cores %d, load average %.1f at the end)%n",
        System.getProperty("java.version"),
        Runtime.getRuntime().availableProcessors(),
        ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
  }

  /**
   * One window of {@code n} rows of width {@code d} from {@code source}, split evenly over {@code
   * ranks}: prints its accuracy row and returns its cost row. The default route is whatever {@link
   * DefaultSummary#forLayer} picks, each rank's snapshot sent through the wire codec and the chunk
   * assembler before the collector's merge. "Rows described" is what the merged snapshot counts:
   * the sample's rows for a row sample, every row for a co-moment summary (then the described
   * reference is the all-rows reference).
   *
   * @param liveAllRows whether a window of more than 4096 rows gets its reference over all rows
   *     (the streamed d × d co-moment) and, with it, the FD columns
   */
  public static String run(
      String label, int d, int n, int ranks, boolean fd, boolean liveAllRows, RowSource source)
      throws WireFormatException {
    boolean live = n > 4096;
    boolean allRows = !live || liveAllRows;
    fd &= allRows;
    CoMoment stream = live && allRows ? new CoMoment(d) : null;
    float[] all = live ? null : new float[n * d];
    List<CovarianceSnapshot> defaults = new ArrayList<>();
    List<CovarianceSnapshot> fd256 = new ArrayList<>();
    List<CovarianceSnapshot> fd512 = new ArrayList<>();
    List<CovarianceSnapshot> samples = new ArrayList<>();
    long wireBytes = 0;
    long sketchCpu = 0;
    long sampleCpu = 0;
    int sampleCapacity =
        RowSample.capacityFor(
            DefaultSummary.SAMPLE_ROWS, ranks, DefaultSummary.SAMPLE_MAX_BYTES, d);
    int filled = 0;
    for (int r = 0; r < ranks; r++) {
      int rows = n / ranks + (r < n % ranks ? 1 : 0);
      CovarianceSketch sketch = DefaultSummary.forLayer(d, ranks);
      // The row sample fed the same rows: the default for d > 2688, side by side where it is not.
      RowSample sample = RowSample.withCapacity(sampleCapacity, d);
      FdSnapshot s256 = null;
      FdSnapshot s512 = null;
      int block = 512;
      for (int done = 0; done < rows; done += block) {
        int b = Math.min(block, rows - done);
        float[] x = source.next(b);
        long t0 = THREADS.getCurrentThreadCpuTime();
        sketch.update(x, b);
        long t1 = THREADS.getCurrentThreadCpuTime();
        sample.update(x, b);
        sampleCpu += THREADS.getCurrentThreadCpuTime() - t1;
        sketchCpu += t1 - t0;
        if (fd) {
          s256 = fold(s256, x, 0, Math.min(b, 256), 256, d);
          if (b > 256) {
            s256 = fold(s256, x, 256, b - 256, 256, d);
          }
          s512 = fold(s512, x, 0, b, 512, d);
        }
        if (stream != null) {
          stream.add(x, b);
        } else if (!live) {
          System.arraycopy(x, 0, all, filled * d, b * d);
          filled += b;
        }
      }
      long t0 = THREADS.getCurrentThreadCpuTime();
      CovarianceSnapshot sent = sketch.snapshot();
      long t1 = THREADS.getCurrentThreadCpuTime();
      samples.add(sample.snapshot());
      sampleCpu += THREADS.getCurrentThreadCpuTime() - t1;
      sketchCpu += t1 - t0;
      SnapshotMetadata meta =
          new SnapshotMetadata("run", Stage.PRETRAIN, r, ranks, "layer", 1, 1, 0, 0, 0);
      ChunkAssembler assembler = ChunkAssembler.withDefaults();
      CovarianceSnapshot received = null;
      for (byte[] frame :
          SnapshotCodec.encode(
              new SnapshotRecord(meta, sent), SnapshotCodec.DEFAULT_MAX_RECORD_BYTES)) {
        if (r == 0) {
          wireBytes += frame.length;
        }
        var done = assembler.accept(SnapshotCodec.decode(frame, DecodeLimits.defaults()), 0);
        if (done.isPresent()) {
          received = done.get().snapshot();
        }
      }
      if (received == null) {
        throw new IllegalStateException("rank " + r + ": the snapshot did not reassemble");
      }
      defaults.add(received);
      if (fd) {
        fd256.add(s256);
        fd512.add(s512);
      }
    }
    // The collector's work for the default route: merge of the ranks, then the spectrum.
    long[] cpu = new long[3];
    SpectralMeasures def = null;
    CovarianceSnapshot merged = null;
    for (int rep = 0; rep < cpu.length; rep++) {
      long t0 = THREADS.getCurrentThreadCpuTime();
      merged = SnapshotMerge.mergeAll(defaults);
      def = SpectralMeasures.of(Spectrum.of(merged));
      cpu[rep] = THREADS.getCurrentThreadCpuTime() - t0;
    }
    Arrays.sort(cpu);
    defaults.clear();
    SpectralMeasures exactAll = null;
    if (!allRows) {
      // left out: no reference for the whole window, no FD columns
    } else if (live) {
      exactAll = stream.measures();
      stream = null;
    } else {
      exactAll =
          SpectralMeasures.of(Spectrum.of(new RowSampleSnapshot(n, d, all, n, 0)), FitRange.STUDY);
    }
    // The exact computation on the rows the default route describes. For a row sample: its rows,
    // through the other route — the d × d co-moment and its eigenvalues; beyond d = 4096 that
    // eigensolver (minutes of CPU here) is left out and the reference is the Gram route of the
    // same rows, i.e. the default's own computation. A co-moment summary describes every row.
    SpectralMeasures exactDescribed;
    if (merged instanceof RowSampleSnapshot described) {
      exactDescribed = def;
      if (d <= 4096) {
        CoMoment sample = new CoMoment(d);
        sample.add(described.rows(), (int) described.count());
        exactDescribed = sample.measures();
      }
    } else {
      exactDescribed = exactAll;
    }
    SpectralMeasures sampled = SpectralMeasures.of(Spectrum.of(SnapshotMerge.mergeAll(samples)));
    samples.clear();
    String sampleCols = " — | — |";
    String vsAll = " — | — |";
    String fdCols = " — | — | — | — |";
    if (exactAll != null) {
      sampleCols =
          String.format(
              Locale.ROOT,
              " %s | %s |",
              rank(sampled.effectiveRank(), exactAll.effectiveRank()),
              alpha(sampled.alpha(), exactAll.alpha()));
      vsAll =
          String.format(
              Locale.ROOT,
              " %s | %s |",
              rank(def.effectiveRank(), exactAll.effectiveRank()),
              alpha(def.alpha(), exactAll.alpha()));
    }
    if (fd && exactAll != null) {
      SpectralMeasures f256 =
          SpectralMeasures.of(Spectrum.of(SnapshotMerge.mergeAll(fd256)), FitRange.STUDY);
      double[] comp = compensated((FdSnapshot) SnapshotMerge.mergeAll(fd512));
      fdCols =
          String.format(
              Locale.ROOT,
              " %s | %s | %s | %s |",
              rank(f256.effectiveRank(), exactAll.effectiveRank()),
              alpha(f256.alpha(), exactAll.alpha()),
              rank(comp[0], exactAll.effectiveRank()),
              alpha(comp[1], exactAll.alpha()));
    }
    System.out.printf(
        Locale.ROOT,
        "| %d | %s | %d | %d | %s | %s | %s | %s | %s | %s |%s%s%s%n",
        d,
        label,
        n,
        def.count(),
        exactDescribed == null ? "—" : fmt("%.1f", exactDescribed.effectiveRank()),
        exactDescribed == null ? "—" : rank(def.effectiveRank(), exactDescribed.effectiveRank()),
        exactDescribed == null ? "—" : fmt("%.3f", exactDescribed.alpha()),
        exactDescribed == null ? "—" : alpha(def.alpha(), exactDescribed.alpha()),
        exactAll == null ? "—" : fmt("%.1f", exactAll.effectiveRank()),
        exactAll == null ? "—" : fmt("%.3f", exactAll.alpha()),
        vsAll,
        fdCols,
        sampleCols);
    System.out.flush();
    String kind;
    long memory;
    if (merged instanceof RowSampleSnapshot) {
      kind = "row sample";
      memory = 4L * sampleCapacity * d;
    } else if (d > DefaultSummary.EXACT_MAX_DIMENSION) {
      kind = "float32 co-moment";
      memory = Float32Moment.bytesHeld(d);
    } else {
      kind = "exact co-moment";
      memory = 8L * d * d;
    }
    return String.format(
        Locale.ROOT,
        "| %d | %s | %d | %s | %.2f MiB | %.2f MiB | %.3f s | %.1f µs | %.1f µs |",
        d,
        label,
        n,
        kind,
        memory / 1048576.0,
        wireBytes / 1048576.0,
        cpu[1] / 1e9,
        sketchCpu / 1e3 / n,
        sampleCpu / 1e3 / n);
  }

  private static String fmt(String format, double v) {
    return String.format(Locale.ROOT, format, v);
  }

  /** The error to two decimals, or, when that would print 0, to its first significant digits. */
  private static String rank(double got, double want) {
    double e = 100 * (got / want - 1);
    String f = Math.abs(e) >= 0.005 || e == 0 ? "%.1f (%+.2f%%)" : "%.1f (%+.1e%%)";
    return String.format(Locale.ROOT, f, got, e);
  }

  private static String alpha(double got, double want) {
    double e = got - want;
    String f = Math.abs(e) >= 0.0005 || e == 0 ? "%.3f (%+.3f)" : "%.3f (%+.1e)";
    return String.format(Locale.ROOT, f, got, e);
  }

  /**
   * Folds {@code b} rows starting at row {@code from} of {@code x} into an FD sketch of ℓ = {@code
   * ell}: the rows as an unshrunk snapshot, merged by the collector's LAPACK shrink.
   */
  private static FdSnapshot fold(FdSnapshot acc, float[] x, int from, int b, int ell, int d) {
    double[] rows = new double[b * d];
    double[] mean = new double[d];
    double sumSq = 0;
    for (int i = 0; i < b; i++) {
      for (int k = 0; k < d; k++) {
        double v = x[(from + i) * d + k];
        rows[i * d + k] = v;
        mean[k] += v;
        sumSq += v * v;
      }
    }
    for (int k = 0; k < d; k++) {
      mean[k] /= b;
    }
    FdSnapshot part = new FdSnapshot(ell, b, mean, rows, sumSq, 0.0, 0);
    return acc == null ? part : (FdSnapshot) SnapshotMerge.merge(acc, part);
  }

  /**
   * The study's computation on every row streamed into it: {@code XᵀX} accumulated block by block
   * ({@code dsyrk}, double, upper triangle) and the rows' sum — one d × d array, never the rows in
   * double — then centred in place ({@code XᵀX − nμμᵀ}) and its eigenvalues by {@code dsyevd} on
   * that same array. At d = 8192: 512 MiB, where copying it for the snapshot and the solver would
   * need four times that.
   */
  static final class CoMoment {
    private final int d;
    private final double[] gram;
    private final double[] sum;
    private long n;

    CoMoment(int d) {
      this.d = d;
      this.gram = new double[d * d];
      this.sum = new double[d];
    }

    void add(float[] x, int b) {
      double[] xd = new double[b * d];
      for (int i = 0; i < b * d; i++) {
        xd[i] = x[i];
        sum[i % d] += x[i];
      }
      cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, b, 1.0, xd, d, 1.0, gram, d);
      n += b;
    }

    /** The measures of the rows added so far; the accumulated Gram is consumed. */
    SpectralMeasures measures() {
      double[] mean = new double[d];
      for (int k = 0; k < d; k++) {
        mean[k] = sum[k] / n;
      }
      for (int i = 0; i < d; i++) {
        for (int j = i; j < d; j++) {
          gram[i * d + j] -= n * mean[i] * mean[j];
        }
      }
      double[] w = new double[d];
      // Row-major upper triangle = column-major lower triangle.
      int info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, (byte) 'N', (byte) 'L', d, gram, d, w);
      if (info != 0) {
        throw new IllegalStateException("dsyevd: info " + info);
      }
      double scale = 1.0 / (n - 1.0);
      for (int i = 0; i < d; i++) {
        w[i] = Math.max(0.0, w[i] * scale);
      }
      return SpectralMeasures.of(Spectrum.ofEigenvalues(w, n), FitRange.STUDY);
    }
  }

  /**
   * FD with the shrinkage compensated (Desai, Ghashami, Phillips 2016): every retained eigenvalue
   * gets the accumulated δ back, and the variance still missing — known exactly from the total — is
   * spread over the ranks past the sketch as a power law continuing the compensated head's slope
   * over its last half. Returns {RankMe, α}.
   */
  static double[] compensated(FdSnapshot s) {
    Spectrum sp = Spectrum.of(s);
    long n = sp.count();
    int d = sp.dimension();
    double delta = sp.shrinkage();
    double[] head = sp.eigenvalues();
    int p = 0;
    while (p < Math.min(head.length, s.ell()) && head[p] > 0) {
      p++;
    }
    double headSum = 0;
    for (int i = 0; i < p; i++) {
      head[i] += delta;
      headSum += head[i];
    }
    int last = (int) Math.min(n - 1, d);
    double[] lam = new double[Math.max(last, p)];
    System.arraycopy(head, 0, lam, 0, p);
    double missing = sp.totalVariance() - headSum;
    if (missing > 0 && last > p) {
      double beta =
          SpectralMeasures.of(
                  Spectrum.ofEigenvalues(Arrays.copyOf(head, p), n), new FitRange(p / 2, p))
              .alpha();
      double norm = 0;
      for (int i = p + 1; i <= last; i++) {
        norm += Math.pow(i, -beta);
      }
      for (int i = p + 1; i <= last; i++) {
        lam[i - 1] = missing * Math.pow(i, -beta) / norm;
      }
    }
    Arrays.sort(lam);
    for (int i = 0, j = lam.length - 1; i < j; i++, j--) {
      double t = lam[i];
      lam[i] = lam[j];
      lam[j] = t;
    }
    Spectrum model = Spectrum.ofEigenvalues(lam, n);
    SpectralMeasures m = SpectralMeasures.of(model, FitRange.STUDY);
    return new double[] {m.effectiveRank(), m.alpha()};
  }

  private static int[] ints(String csv) {
    return Arrays.stream(csv.split(",")).mapToInt(s -> Integer.parseInt(s.trim())).toArray();
  }

  private static double[] doubles(String csv) {
    return Arrays.stream(csv.split(",")).mapToDouble(s -> Double.parseDouble(s.trim())).toArray();
  }
}
