package io.phasewatch.collector.bench;

import io.phasewatch.collector.spectrum.SnapshotMerge;
import io.phasewatch.collector.spectrum.SpectralMeasures;
import io.phasewatch.collector.spectrum.Spectrum;
import io.phasewatch.core.sketch.CovarianceSnapshot;
import io.phasewatch.core.sketch.Float32Moment;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The collector's CPU per layer-window for the float32 co-moment, split into its two parts: the
 * merge of the ranks' parts ({@link SnapshotMerge#mergeAll}, widening to double with Chan's
 * combine) and the spectrum with the measures (a d × d {@code dsyevd}). Warm: each width is
 * measured {@code bench.reps} times in one process after one unmeasured round; this thread's CPU
 * time. The parts' content does not change the cost (the eigensolver's work depends on d only).
 *
 * <p>Run (from the repository root, {@code CP} as for {@link SummaryAccuracyBenchmark}): {@code
 * OMP_NUM_THREADS=1 java -Xmx8g -Dbench.dims=2048,2304,2560,2688 -cp $CP
 * io.phasewatch.collector.bench.CoMomentCollectorCostBenchmark}. Options: {@code bench.ranks} (8),
 * {@code bench.reps} (3).
 */
public final class CoMomentCollectorCostBenchmark {

  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  private CoMomentCollectorCostBenchmark() {}

  public static void main(String[] args) {
    int[] dims =
        Arrays.stream(System.getProperty("bench.dims", "2048,2688").split(","))
            .mapToInt(s -> Integer.parseInt(s.trim()))
            .toArray();
    int ranks = Integer.getInteger("bench.ranks", 8);
    int reps = Integer.getInteger("bench.reps", 3);
    System.out.println(
        "| d | ranks | merge CPU s (min–max) | spectrum + measures CPU s (min–max) | total (median) |");
    System.out.println("|---|---|---|---|---|");
    for (int d : dims) {
      List<CovarianceSnapshot> parts = new ArrayList<>();
      SplittableRandom random = new SplittableRandom(d);
      for (int r = 0; r < ranks; r++) {
        float[] rows = new float[128 * d];
        for (int i = 0; i < rows.length; i++) {
          rows[i] = (float) random.nextGaussian();
        }
        Float32Moment m = Float32Moment.ofDimension(d);
        m.update(rows, 128);
        parts.add(m.snapshot());
      }
      double[] merge = new double[reps];
      double[] spectrum = new double[reps];
      double[] total = new double[reps];
      for (int rep = -1; rep < reps; rep++) {
        long t0 = THREADS.getCurrentThreadCpuTime();
        CovarianceSnapshot merged = SnapshotMerge.mergeAll(parts);
        long t1 = THREADS.getCurrentThreadCpuTime();
        SpectralMeasures.of(Spectrum.of(merged));
        long t2 = THREADS.getCurrentThreadCpuTime();
        if (rep >= 0) {
          merge[rep] = (t1 - t0) / 1e9;
          spectrum[rep] = (t2 - t1) / 1e9;
          total[rep] = (t2 - t0) / 1e9;
        }
      }
      Arrays.sort(merge);
      Arrays.sort(spectrum);
      Arrays.sort(total);
      System.out.printf(
          Locale.ROOT,
          "| %d | %d | %.3f–%.3f | %.3f–%.3f | %.3f |%n",
          d,
          ranks,
          merge[0],
          merge[reps - 1],
          spectrum[0],
          spectrum[reps - 1],
          total[reps / 2]);
    }
    System.out.printf(
        Locale.ROOT,
        "%n(java %s, cores %d, load average %.1f at the end)%n",
        System.getProperty("java.version"),
        Runtime.getRuntime().availableProcessors(),
        ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
  }
}
