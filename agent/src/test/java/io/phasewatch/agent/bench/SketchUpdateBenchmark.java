package io.phasewatch.agent.bench;

import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.core.sketch.FrequentDirections;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * Frequent Directions' batched update against EJML's own dense multiply and against the exact
 * co-moment update, measured side by side in one run, all single-threaded.
 *
 * <p>FLOP rate of FD: the products a shrink of the full {@code m = 2ℓ} buffer must do, counted as 2
 * flops per multiply-add — the Gram matrix's upper triangle ({@code m(m+1)/2·d}) and the rotation
 * ({@code d·(ℓ−1)·m}) — divided by the wall time of the whole update, eigensolver, copies and
 * bookkeeping included. All times are the calling thread's CPU time (see {@link #cpuNanos()}).
 * EJML's rate: {@code CommonOps_DDRM} (single-threaded) on the same two shapes, {@code (m×d)·(d×m)}
 * (best of {@code mult} on a transposed copy and {@code multTransB}) and {@code (d×m)·(m×(ℓ−1))},
 * flops over time. Each round measures every configuration once; the ratios reported are medians
 * over rounds of ratios taken within a round.
 *
 * <p>Run: {@code mvn -q -B -pl agent test-compile exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=io.phasewatch.agent.bench.SketchUpdateBenchmark} (system properties {@code
 * bench.rounds}, default 3, and {@code bench.shrinks}, timed shrinks per FD measurement, default
 * 2).
 */
public final class SketchUpdateBenchmark {

  private static final int[] DIMS = ints(System.getProperty("bench.dims", "1024,4096"));
  private static final int[] ELLS = ints(System.getProperty("bench.ells", "128,256,512"));

  private SketchUpdateBenchmark() {}

  public static void main(String[] args) {
    int rounds = Integer.getInteger("bench.rounds", 3);
    int shrinks = Integer.getInteger("bench.shrinks", 2);
    Random rng = new Random(42);
    warmUp(rng);

    int configs = DIMS.length * ELLS.length;
    double[][] fdRowsPerSec = new double[configs][rounds];
    double[][] fraction = new double[configs][rounds];
    double[][] fdGflops = new double[configs][rounds];
    double[][] ejmlGflops = new double[configs][rounds];
    double[][] vsExact = new double[configs][rounds];
    double[][] allocPerRow = new double[configs][rounds];
    double[][] exactRowsPerSec = new double[DIMS.length][rounds];
    double[][] vsRowByRow = new double[configs][rounds];
    double[][] eigShare = new double[configs][rounds];

    for (int r = 0; r < rounds; r++) {
      for (int di = 0; di < DIMS.length; di++) {
        int d = DIMS[di];
        double exactSecPerRow = timeExact(d, rng);
        exactRowsPerSec[di][r] = 1 / exactSecPerRow;
        double rowByRowSecPerRow = timeExactRowByRow(d, rng);
        for (int li = 0; li < ELLS.length; li++) {
          int ell = ELLS[li];
          int c = di * ELLS.length + li;
          FdRun fd = timeFd(ell, d, shrinks, rng);
          double ejml = ejmlRate(ell, d, rng);
          fdRowsPerSec[c][r] = fd.rows / fd.seconds;
          fdGflops[c][r] = fd.flops / fd.seconds / 1e9;
          ejmlGflops[c][r] = ejml / 1e9;
          fraction[c][r] = (fd.flops / fd.seconds) / ejml;
          vsExact[c][r] = exactSecPerRow / (fd.seconds / fd.rows);
          vsRowByRow[c][r] = rowByRowSecPerRow / (fd.seconds / fd.rows);
          allocPerRow[c][r] = fd.allocatedBytes / fd.rows;
          eigShare[c][r] = eigenSeconds(ell, d, rng) * shrinks / fd.seconds;
          System.err.printf(
              Locale.ROOT,
              "round %d d=%d ell=%d: fd %.1f rows/s %.2f GFLOP/s, ejml %.2f GFLOP/s, exact %.2f rows/s%n",
              r + 1,
              d,
              ell,
              fdRowsPerSec[c][r],
              fdGflops[c][r],
              ejmlGflops[c][r],
              1 / exactSecPerRow);
        }
      }
    }

    System.out.println(
        "| d | ℓ | FD rows/s | FD GFLOP/s | EJML mult GFLOP/s | FD / EJML rate | exact rows/s"
            + " | exact s/row ÷ FD s/row | exact row-by-row s/row ÷ FD s/row | FD bytes alloc./row"
            + " | eigensolver share of FD time |");
    System.out.println("|---|---|---|---|---|---|---|---|---|---|---|");
    for (int di = 0; di < DIMS.length; di++) {
      for (int li = 0; li < ELLS.length; li++) {
        int c = di * ELLS.length + li;
        System.out.printf(
            Locale.ROOT,
            "| %d | %d | %.0f | %.2f | %.2f | %.0f%% | %.0f | %.2f× | %.1f× | %.0f | %.0f%% |%n",
            DIMS[di],
            ELLS[li],
            median(fdRowsPerSec[c]),
            median(fdGflops[c]),
            median(ejmlGflops[c]),
            100 * median(fraction[c]),
            median(exactRowsPerSec[di]),
            median(vsExact[c]),
            median(vsRowByRow[c]),
            median(allocPerRow[c]),
            100 * median(eigShare[c]));
      }
    }
    System.out.printf(
        Locale.ROOT,
        "rounds=%d, timed shrinks per FD run=%d, java %s, cores %d%n",
        rounds,
        shrinks,
        System.getProperty("java.version"),
        Runtime.getRuntime().availableProcessors());
  }

  private record FdRun(double seconds, int rows, double flops, double allocatedBytes) {}

  /**
   * Steady state: the sketch is first filled and shrunk once (untimed), then exactly {@code
   * shrinks·(ℓ+1)} rows are timed, which trigger exactly {@code shrinks} shrinks of a full buffer.
   */
  private static FdRun timeFd(int ell, int d, int shrinks, Random rng) {
    FrequentDirections fd = FrequentDirections.withRows(ell, d);
    float[] prefill = gaussianRows(rng, 2 * ell, d);
    fd.update(prefill, 2 * ell);
    int rows = shrinks * (ell + 1);
    float[] timed = gaussianRows(rng, rows, d);
    long alloc0 = allocatedBytes();
    long t0 = cpuNanos();
    fd.update(timed, rows);
    long t1 = cpuNanos();
    long alloc1 = allocatedBytes();
    double m = 2.0 * ell;
    double macsPerShrink = m * (m + 1) / 2 * d + (double) d * (ell - 1) * m;
    return new FdRun((t1 - t0) / 1e9, rows, 2 * macsPerShrink * shrinks, alloc1 - alloc0);
  }

  /** Seconds per row of the exact summary's batched update, after one untimed batch. */
  private static double timeExact(int d, Random rng) {
    ExactSummary exact = ExactSummary.ofDimension(d);
    int batch = 256;
    exact.update(gaussianRows(rng, batch, d), batch);
    int rows = d >= 4096 ? 2 * batch : 8 * batch;
    float[] timed = gaussianRows(rng, rows, d);
    long t0 = cpuNanos();
    exact.update(timed, rows);
    return (cpuNanos() - t0) / 1e9 / rows;
  }

  /** CPU seconds of one EJML symmetric eigen-decomposition of a {@code 2ℓ × 2ℓ} Gram matrix. */
  private static double eigenSeconds(int ell, int d, Random rng) {
    int m = 2 * ell;
    DMatrixRMaj b = random(rng, m, Math.min(d, 2 * m));
    DMatrixRMaj g = new DMatrixRMaj(m, m);
    CommonOps_DDRM.multTransB(b, b, g);
    EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(m, true, true);
    long t0 = cpuNanos();
    eig.decompose(g);
    return (cpuNanos() - t0) / 1e9;
  }

  /** Seconds per row of the exact summary's one-row (Welford, rank-1) update. */
  private static double timeExactRowByRow(int d, Random rng) {
    ExactSummary exact = ExactSummary.ofDimension(d);
    float[] row = gaussianRows(rng, 1, d);
    exact.update(row);
    int rows = d >= 4096 ? 16 : 64;
    long t0 = cpuNanos();
    for (int i = 0; i < rows; i++) {
      row[i % d] += 1f;
      exact.update(row);
    }
    return (cpuNanos() - t0) / 1e9 / rows;
  }

  /** EJML single-threaded multiply rate (flop/s) on the two shapes of an FD shrink. */
  private static double ejmlRate(int ell, int d, Random rng) {
    int m = 2 * ell;
    int r = ell - 1;
    DMatrixRMaj b = random(rng, m, d);
    DMatrixRMaj bt = new DMatrixRMaj(d, m);
    CommonOps_DDRM.transpose(b, bt);
    DMatrixRMaj g = new DMatrixRMaj(m, m);
    long t0 = cpuNanos();
    CommonOps_DDRM.mult(b, bt, g);
    long t1 = cpuNanos();
    CommonOps_DDRM.multTransB(b, b, g);
    long t2 = cpuNanos();
    DMatrixRMaj w = random(rng, m, r);
    DMatrixRMaj out = new DMatrixRMaj(d, r);
    long t3 = cpuNanos();
    CommonOps_DDRM.mult(bt, w, out);
    long t4 = cpuNanos();
    double gramSeconds = Math.min(t1 - t0, t2 - t1) / 1e9;
    double rotSeconds = (t4 - t3) / 1e9;
    double flops = 2.0 * m * m * d + 2.0 * d * (double) m * r;
    return flops / (gramSeconds + rotSeconds);
  }

  private static void warmUp(Random rng) {
    for (int i = 0; i < 3; i++) {
      FrequentDirections fd = FrequentDirections.withRows(64, 512);
      fd.update(gaussianRows(rng, 64 * 8, 512), 64 * 8);
      fd.snapshot();
      ExactSummary exact = ExactSummary.ofDimension(512);
      exact.update(gaussianRows(rng, 1024, 512), 1024);
      ejmlRate(64, 512, rng);
    }
  }

  private static float[] gaussianRows(Random rng, int n, int d) {
    float[] x = new float[n * d];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) rng.nextGaussian();
    }
    return x;
  }

  private static DMatrixRMaj random(Random rng, int rows, int cols) {
    DMatrixRMaj x = new DMatrixRMaj(rows, cols);
    for (int i = 0; i < x.data.length; i++) {
      x.data[i] = rng.nextGaussian();
    }
    return x;
  }

  /**
   * CPU time of this thread: the machine is shared, and wall time would charge each measurement for
   * whatever else ran meanwhile. Everything measured here runs on the calling thread.
   */
  private static long cpuNanos() {
    return ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
  }

  private static long allocatedBytes() {
    return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean())
        .getCurrentThreadAllocatedBytes();
  }

  private static int[] ints(String csv) {
    return Arrays.stream(csv.split(",")).mapToInt(x -> Integer.parseInt(x.trim())).toArray();
  }

  private static double median(double[] xs) {
    double[] s = xs.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }
}
