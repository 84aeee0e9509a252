package io.phasewatch.collector.bench;

import io.phasewatch.collector.spectrum.SnapshotMerge;
import io.phasewatch.collector.spectrum.Spectrum;
import io.phasewatch.core.sketch.FdSnapshot;
import io.phasewatch.core.sketch.FrequentDirections;
import io.phasewatch.core.sketch.Snapshots;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import java.util.function.Supplier;

/**
 * One pairwise merge of two full Frequent Directions snapshots (ℓ rows each), the collector's
 * LAPACK merge against the agent's pure-Java {@code FrequentDirections.merge}, side by side in one
 * run; CPU time of the calling thread, median of {@code bench.reps} after two warm-ups.
 *
 * <p>Run: {@code mvn -q -B install -DskipTests -pl agent && mvn -q -B -pl collector test-compile
 * exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=io.phasewatch.collector.bench.MergeBenchmark} (arguments {@code d:ℓ} pairs,
 * default {@code 1024:64 4096:256}).
 */
public final class MergeBenchmark {

  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  private MergeBenchmark() {}

  public static void main(String[] args) {
    int reps = Integer.getInteger("bench.reps", 7);
    String[] shapes = args.length > 0 ? args : new String[] {"1024:64", "4096:256"};
    System.out.println("spectrum solver: " + Spectrum.solver());
    System.out.println(
        "| d | ℓ | agent merge (pure Java) CPU s | collector merge (LAPACK) CPU s | speed-up |");
    System.out.println("|---|---|---|---|---|");
    for (String shape : shapes) {
      String[] p = shape.split(":");
      int d = Integer.parseInt(p[0]);
      int ell = Integer.parseInt(p[1]);
      Random random = new Random(7);
      FdSnapshot a = full(random, ell, d);
      FdSnapshot b = full(random, ell, d);
      double agent = median(() -> Snapshots.merge(a, b), reps);
      double lapack = median(() -> SnapshotMerge.merge(a, b), reps);
      System.out.printf(
          Locale.ROOT,
          "| %d | %d | %.4f | %.4f | %.1f× |%n",
          d,
          ell,
          agent,
          lapack,
          agent / lapack);
    }
  }

  private static FdSnapshot full(Random random, int ell, int d) {
    FrequentDirections fd = FrequentDirections.withRows(ell, d);
    int n = 2 * ell;
    float[] rows = new float[n * d];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < d; j++) {
        rows[i * d + j] = (float) (0.5 + random.nextGaussian() * Math.pow(j + 1, -0.6));
      }
    }
    fd.update(rows, n);
    return fd.snapshot();
  }

  private static double median(Supplier<Object> merge, int reps) {
    merge.get();
    merge.get();
    double[] t = new double[reps];
    for (int i = 0; i < reps; i++) {
      long t0 = THREADS.getCurrentThreadCpuTime();
      merge.get();
      t[i] = (THREADS.getCurrentThreadCpuTime() - t0) / 1e9;
    }
    Arrays.sort(t);
    return t[reps / 2];
  }
}
