package io.phasewatch.collector.bench;

import static org.bytedeco.openblas.global.openblas.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas.CblasTrans;
import static org.bytedeco.openblas.global.openblas.CblasUpper;
import static org.bytedeco.openblas.global.openblas.cblas_dsyrk;

import io.phasewatch.collector.spectrum.FitRange;
import io.phasewatch.collector.spectrum.PowerLawRows;
import io.phasewatch.collector.spectrum.SnapshotMerge;
import io.phasewatch.collector.spectrum.SpectralMeasures;
import io.phasewatch.collector.spectrum.Spectrum;
import io.phasewatch.core.sketch.CovarianceSketch;
import io.phasewatch.core.sketch.CovarianceSnapshot;
import io.phasewatch.core.sketch.DefaultSummary;
import io.phasewatch.core.sketch.ExactSnapshot;
import io.phasewatch.core.sketch.FdSnapshot;
import io.phasewatch.core.sketch.Float32Moment;
import io.phasewatch.core.sketch.Float32MomentSnapshot;
import io.phasewatch.core.sketch.RowSample;
import io.phasewatch.core.sketch.RowSampleSnapshot;
import io.phasewatch.core.wire.SnapshotCodec;
import io.phasewatch.core.wire.SnapshotMetadata;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.Stage;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * RankMe and α of the default route ({@link DefaultSummary}: the float32 co-moment of every row for
 * 1024 < d ≤ 2688, the row sample wider) and of Frequent Directions — today's ℓ = 256 interval
 * centre, and ℓ = 512 with the shrinkage added back and a power-law tail carrying the exactly known
 * dropped variance — against the study's computation, window by window, with 8 ranks. A
 * measurement, not a pass/fail.
 *
 * <p>Windows: probe passes of N = 256, 1024, 4096 rows and a live window of 50,000 rows, split
 * evenly over the ranks; rows from {@link PowerLawRows} (population spectrum {@code k^-a}, a mean
 * offset, a non-axis basis). References: the exact computation on the rows the default route
 * describes (its merged sample), and on all rows of the window — for the live window through the d
 * × d co-moment (OpenBLAS {@code dsyrk}, {@code dsyevd}), for probe passes through the Gram matrix
 * of all rows. FD sketches are built per rank from blocks of ℓ rows with the collector's LAPACK
 * merge ({@link SnapshotMerge}, the shrink {@code FrequentDirections.merge} defines) and merged
 * over the ranks.
 *
 * <p>Also printed: the cost of the default route at each d — agent memory per layer (the sample's
 * float32 rows), wire bytes of one rank's snapshot, and the collector's CPU per layer-window (merge
 * of the ranks and the spectrum; median of 3, CPU time of this thread), and the sketch thread's CPU
 * per row of the default summary next to that of the row sample fed the same rows.
 *
 * <p>Run (from the repository root): {@code mvn -q -B -pl collector -am test-compile -DskipTests &&
 * mvn -q -B -pl collector dependency:build-classpath -Dmdep.includeScope=test
 * -Dmdep.outputFile=/tmp/cp.txt && OMP_NUM_THREADS=1 java -Xmx10g -cp
 * collector/target/test-classes:collector/target/classes:agent/target/classes:$(cat /tmp/cp.txt)
 * io.phasewatch.collector.bench.SummaryAccuracyBenchmark}. Options: {@code
 * -Dbench.dims=2048,4096,8192}, {@code -Dbench.as=0.8,1.0,1.5}, {@code
 * -Dbench.windows=256,1024,4096,50000}, {@code -Dbench.fd=true} (the FD columns), {@code
 * -Dbench.liveAllRows=true} (the live window's d × d reference over all its rows, and the FD
 * columns there), {@code -Dbench.ranks=8}.
 */
public final class SummaryAccuracyBenchmark {

  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  private SummaryAccuracyBenchmark() {}

  public static void main(String[] args) {
    int[] dims = ints(System.getProperty("bench.dims", "2048,4096,8192"));
    double[] as = doubles(System.getProperty("bench.as", "0.8,1.0,1.5"));
    int[] windows = ints(System.getProperty("bench.windows", "256,1024,4096,50000"));
    boolean fd = Boolean.parseBoolean(System.getProperty("bench.fd", "true"));
    int ranks = Integer.getInteger("bench.ranks", 8);
    System.out.println(
        "| d | a | window rows | rows described | RankMe exact (described) | RankMe default"
            + " (error) | α exact (described) | α default (error) | RankMe exact (all rows) | α"
            + " exact (all rows) | RankMe FD ℓ=256 (error vs all) | α FD ℓ=256 (error) | RankMe FD"
            + " ℓ=512 comp. (error) | α FD ℓ=512 comp. (error) |");
    System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    List<String> costs = new ArrayList<>();
    for (int d : dims) {
      for (double a : as) {
        for (int n : windows) {
          costs.add(run(d, a, n, ranks, fd));
        }
      }
    }
    System.out.println();
    System.out.println(
        "| d | a | window rows | default summary | agent memory per layer | wire bytes per"
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

  private static String run(int d, double a, int n, int ranks, boolean fd) {
    PowerLawRows source = new PowerLawRows(d, a, 1000L * d + Math.round(100 * a) + n);
    boolean live = n > 4096;
    boolean allRows =
        !live || Boolean.parseBoolean(System.getProperty("bench.liveAllRows", "true"));
    fd &= allRows;
    double[] gram = live && allRows ? new double[d * d] : null;
    double[] sum = new double[d];
    float[] all = live ? null : new float[n * d];
    List<CovarianceSnapshot> defaults = new ArrayList<>();
    List<CovarianceSnapshot> fd256 = new ArrayList<>();
    List<CovarianceSnapshot> fd512 = new ArrayList<>();
    long wireBytes = 0;
    long sketchCpu = 0;
    long sampleCpu = 0;
    int filled = 0;
    for (int r = 0; r < ranks; r++) {
      int rows = n / ranks + (r < n % ranks ? 1 : 0);
      CovarianceSketch sketch = DefaultSummary.forLayer(d, ranks);
      // What the sketch thread would do with the same rows on the row-sample route.
      RowSample sample =
          RowSample.withCapacity(
              RowSample.capacityFor(
                  DefaultSummary.SAMPLE_ROWS, ranks, DefaultSummary.SAMPLE_MAX_BYTES, d),
              d);
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
        if (gram != null) {
          accumulate(gram, sum, x, b, d);
        } else if (live) {
          continue;
        } else {
          System.arraycopy(x, 0, all, filled * d, b * d);
          filled += b;
        }
      }
      long t0 = THREADS.getCurrentThreadCpuTime();
      CovarianceSnapshot snap = sketch.snapshot();
      long t1 = THREADS.getCurrentThreadCpuTime();
      sample.snapshot();
      sampleCpu += THREADS.getCurrentThreadCpuTime() - t1;
      sketchCpu += t1 - t0;
      if (r == 0) {
        SnapshotMetadata meta =
            new SnapshotMetadata("run", Stage.PRETRAIN, 0, ranks, "layer", 1, 1, 0, 0, 0);
        for (byte[] f :
            SnapshotCodec.encode(
                new SnapshotRecord(meta, snap), SnapshotCodec.DEFAULT_MAX_RECORD_BYTES)) {
          wireBytes += f.length;
        }
      }
      defaults.add(snap);
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
    // The exact computation on the rows the default route describes, through the other route: the
    // d × d co-moment and its eigenvalues.
    // Beyond d = 4096 the d × d eigensolver (minutes of CPU here) is left out and the reference
    // is the Gram route of the same rows, i.e. the default's own computation. A co-moment route
    // describes every row: its reference is the whole window's, computed below.
    SpectralMeasures exactDescribed = def;
    if (merged instanceof RowSampleSnapshot described && d <= 4096) {
      double[] dg = new double[d * d];
      double[] ds = new double[d];
      accumulate(dg, ds, described.rows(), (int) described.count(), d);
      exactDescribed = measuresOfCoMoment(dg, ds, described.count(), d);
    }
    SpectralMeasures exactAll = null;
    if (!allRows) {
      // left out: no reference for the whole window, no FD columns
    } else if (live) {
      exactAll = measuresOfCoMoment(gram, sum, n, d);
    } else {
      exactAll =
          SpectralMeasures.of(Spectrum.of(new RowSampleSnapshot(n, d, all, n, 0)), FitRange.STUDY);
    }
    if (!(merged instanceof RowSampleSnapshot) && exactAll != null) {
      exactDescribed = exactAll;
    }
    String fdCols = " n/a | n/a | n/a | n/a |";
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
        "| %d | %.1f | %d | %d | %.1f | %s | %.3f | %s | %.1f | %.3f |%s%n",
        d,
        a,
        n,
        def.count(),
        exactDescribed.effectiveRank(),
        rank(def.effectiveRank(), exactDescribed.effectiveRank()),
        exactDescribed.alpha(),
        alpha(def.alpha(), exactDescribed.alpha()),
        exactAll == null ? Double.NaN : exactAll.effectiveRank(),
        exactAll == null ? Double.NaN : exactAll.alpha(),
        fdCols);
    System.out.flush();
    CovarianceSnapshot first = defaults.get(0);
    String kind;
    long memory;
    if (first instanceof RowSampleSnapshot rs) {
      kind = "row sample";
      memory = 4L * rs.capacity() * d;
    } else if (first instanceof Float32MomentSnapshot) {
      kind = "float32 co-moment";
      memory = Float32Moment.bytesHeld(d);
    } else {
      kind = "exact co-moment";
      memory = 8L * d * d;
    }
    return String.format(
        Locale.ROOT,
        "| %d | %.1f | %d | %s | %.2f MiB | %.2f MiB | %.3f s | %.1f µs | %.1f µs |",
        d,
        a,
        n,
        kind,
        memory / 1048576.0,
        wireBytes / 1048576.0,
        cpu[1] / 1e9,
        sketchCpu / 1e3 / n,
        sampleCpu / 1e3 / n);
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

  /** {@code gram += XᵀX} (upper triangle) and {@code sum += Σ rows}, in double. */
  private static void accumulate(double[] gram, double[] sum, float[] x, int b, int d) {
    double[] xd = new double[b * d];
    for (int i = 0; i < b * d; i++) {
      xd[i] = x[i];
      sum[i % d] += x[i];
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, b, 1.0, xd, d, 1.0, gram, d);
  }

  /** The study's measures of the rows behind {@code XᵀX} and their sum: centred, d × d. */
  private static SpectralMeasures measuresOfCoMoment(double[] gram, double[] sum, long n, int d) {
    double[] mean = new double[d];
    for (int k = 0; k < d; k++) {
      mean[k] = sum[k] / n;
    }
    double[] m = new double[d * d];
    for (int i = 0; i < d; i++) {
      for (int j = i; j < d; j++) {
        double v = gram[i * d + j] - n * mean[i] * mean[j];
        m[i * d + j] = v;
        m[j * d + i] = v;
      }
    }
    return SpectralMeasures.of(Spectrum.of(new ExactSnapshot(n, mean, m, 0)), FitRange.STUDY);
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
