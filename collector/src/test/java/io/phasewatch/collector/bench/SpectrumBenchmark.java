package io.phasewatch.collector.bench;

import io.phasewatch.collector.spectrum.Spectrum;
import io.phasewatch.core.sketch.ExactSnapshot;
import io.phasewatch.core.sketch.FdSnapshot;
import io.phasewatch.core.sketch.SymmetricEigen;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;
import org.ejml.interfaces.decomposition.QRDecomposition;

/**
 * The spectrum of an ℓ = 512, d = 4096 Frequent Directions snapshot and of an exact d = 1024
 * summary, phasewatch against numpy on the same data in the same run. The data are written as .npy;
 * {@code scripts/bench_spectrum.py} times numpy's textbook call, the previous QR route and
 * phasewatch's own algorithm (see its docstring), all single-threaded. Times are CPU seconds of the
 * computing thread (process CPU for numpy), median of {@code bench.reps} after warm-up; the ratio
 * is phasewatch's median over numpy's. The eigenvalues of both are compared too.
 *
 * <p>Run: {@code mvn -q -B install -DskipTests -pl agent && mvn -q -B -pl collector test-compile
 * exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=io.phasewatch.collector.bench.SpectrumBenchmark} (property {@code bench.reps},
 * default 7).
 */
public final class SpectrumBenchmark {

  private SpectrumBenchmark() {}

  public static void main(String[] args) throws Exception {
    int reps = Integer.getInteger("bench.reps", 7);
    Path dir = Path.of("target", "bench-spectrum");
    Files.createDirectories(dir);
    Random rnd = new Random(11);

    int ell = 512;
    int dFd = 4096;
    long n = 200_000;
    double[] b = new double[ell * dFd];
    for (int i = 0; i < ell; i++) {
      double s = Math.pow(i + 1, -0.5) * 50;
      for (int j = 0; j < dFd; j++) {
        b[i * dFd + j] = s * rnd.nextGaussian();
      }
    }
    double[] mu = new double[dFd];
    double ss = 0;
    for (int j = 0; j < dFd; j++) {
      mu[j] = 0.1 * rnd.nextGaussian();
    }
    for (double v : b) {
      ss += v * v;
    }
    for (double v : mu) {
      ss += n * v * v * 1.01;
    }
    FdSnapshot fd = new FdSnapshot(ell, n, mu, b, ss, 1.0, 0);
    writeNpy(dir.resolve("fd_rows.npy"), b, ell, dFd);
    writeNpy(dir.resolve("fd_mean.npy"), mu, 1, dFd);

    int dEx = 1024;
    int rows = 3000;
    DMatrixRMaj z = new DMatrixRMaj(rows, dEx);
    for (int i = 0; i < rows; i++) {
      for (int j = 0; j < dEx; j++) {
        z.set(i, j, rnd.nextGaussian() * Math.pow(j + 1, -0.5));
      }
    }
    DMatrixRMaj m = new DMatrixRMaj(dEx, dEx);
    CommonOps_DDRM.multInner(z, m);
    ExactSnapshot ex = new ExactSnapshot(rows, new double[dEx], m.getData(), 0);
    double[] cov = m.getData().clone();
    for (int i = 0; i < cov.length; i++) {
      cov[i] /= rows - 1;
    }
    writeNpy(dir.resolve("exact_cov.npy"), cov, dEx, dEx);
    Files.writeString(dir.resolve("meta.json"), "{\"n\": " + n + ", \"reps\": " + reps + "}");

    Timing tFd = time(() -> Spectrum.of(fd), reps);
    Timing tEx = time(() -> Spectrum.of(ex), reps);
    Timing tFdJava = time(() -> pureJavaFd(fd), reps);
    Timing tExJava = time(() -> SymmetricEigen.values(ex.comoment(), dEx), reps);
    Timing tFdEjml = time(() -> ejmlFd(fd), reps);
    Timing tExEjml = time(() -> ejmlExact(ex), reps);
    Spectrum sFd = Spectrum.of(fd);
    Spectrum sEx = Spectrum.of(ex);

    ProcessBuilder pb =
        new ProcessBuilder("python3", script().toString(), dir.toString())
            .redirectError(ProcessBuilder.Redirect.INHERIT);
    pb.environment().put("OMP_NUM_THREADS", "1");
    pb.environment().put("OPENBLAS_NUM_THREADS", "1");
    pb.environment().put("MKL_NUM_THREADS", "1");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IllegalStateException("bench_spectrum.py failed: " + out);
    }
    JsonObject np = new JsonObject(out);

    System.out.println(
        "| spectrum | numpy computation | phasewatch CPU s | numpy CPU s | ratio (≤ 1.5 target)"
            + " | max abs(Δλ)/λ₁ |");
    System.out.println("|---|---|---|---|---|---|");
    String fdCase = "FD ℓ=512, d=4096";
    row(
        fdCase,
        "`svd(C, compute_uv=False)`, C = [B; √n μ] (timing only¹)",
        tFd,
        np,
        "fd_svd",
        null);
    row(fdCase, "same algorithm: thin QR of Cᵀ + `eigvalsh(R S Rᵀ)`", tFd, np, "fd_qr", sFd);
    row(fdCase, "Gram route: X Xᵀ, `cholesky`, `eigvalsh(Lᵀ W L)`", tFd, np, "fd_gram", sFd);
    row("exact d=1024", "`eigvalsh(C)` (textbook = same algorithm)", tEx, np, "exact", sEx);
    System.out.println();
    System.out.println(
        "| spectrum | phasewatch CPU s ("
            + Spectrum.solver()
            + ") | pure-Java fallback CPU s | previous (EJML) CPU s |");
    System.out.println("|---|---|---|---|");
    System.out.printf(
        Locale.ROOT,
        "| %s | %.3f | %.3f | %.3f |%n",
        fdCase,
        tFd.cpu(),
        tFdJava.cpu(),
        tFdEjml.cpu());
    System.out.printf(
        Locale.ROOT,
        "| exact d=1024 | %.3f | %.3f | %.3f |%n",
        tEx.cpu(),
        tExJava.cpu(),
        tExEjml.cpu());
    System.out.printf(
        Locale.ROOT,
        "numpy %s; phasewatch wall medians: FD %.3f s, exact %.3f s%n",
        np.getString("numpy"),
        tFd.wall(),
        tEx.wall());
  }

  /**
   * The pure-Java fallback's work on the same sizes: {@link SymmetricEigen#valuesOfWeightedGram} of
   * {@code [B; μ]} with the mean's weight (the fallback first folds the mean into one row, an
   * {@code O(ℓd)} step left out here).
   */
  private static double[] pureJavaFd(FdSnapshot s) {
    int r = s.rowCount();
    int d = s.dimension();
    double[] x = Arrays.copyOf(s.rows(), (r + 1) * d);
    System.arraycopy(s.mean(), 0, x, r * d, d);
    double[] w = new double[r + 1];
    Arrays.fill(w, 1.0);
    w[r] = -s.count();
    return SymmetricEigen.valuesOfWeightedGram(x, r + 1, d, w);
  }

  /**
   * The previous FD path, kept here as the reference: EJML's Householder QR of {@code Xᵀ = [B; √n
   * μ]ᵀ}, then EJML's symmetric eigensolver on {@code R S Rᵀ}.
   */
  private static double[] ejmlFd(FdSnapshot s) {
    int d = s.dimension();
    int r = s.rowCount();
    int m = r + 1;
    double[] b = s.rows();
    double[] mu = s.mean();
    double sqrtN = Math.sqrt((double) s.count());
    DMatrixRMaj xt = new DMatrixRMaj(d, m);
    for (int i = 0; i < r; i++) {
      for (int j = 0; j < d; j++) {
        xt.unsafe_set(j, i, b[i * d + j]);
      }
    }
    for (int j = 0; j < d; j++) {
      xt.unsafe_set(j, r, sqrtN * mu[j]);
    }
    QRDecomposition<DMatrixRMaj> qr = DecompositionFactory_DDRM.qr(d, m);
    qr.decompose(xt);
    DMatrixRMaj rr = qr.getR(null, true);
    int k = rr.numRows;
    DMatrixRMaj h = new DMatrixRMaj(k, k);
    CommonOps_DDRM.multTransB(rr, rr, h);
    for (int i = 0; i < k; i++) {
      for (int j = 0; j < k; j++) {
        h.add(i, j, -2.0 * rr.unsafe_get(i, m - 1) * rr.unsafe_get(j, m - 1));
      }
    }
    return ejmlEigenvalues(h);
  }

  /** The previous exact path: EJML's symmetric eigensolver on the d × d covariance. */
  private static double[] ejmlExact(ExactSnapshot s) {
    int d = s.dimension();
    return ejmlEigenvalues(DMatrixRMaj.wrap(d, d, s.comoment()));
  }

  private static double[] ejmlEigenvalues(DMatrixRMaj a) {
    EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(a.numRows, false, true);
    if (!eig.decompose(a)) {
      throw new IllegalStateException("EJML eigendecomposition failed");
    }
    double[] out = new double[a.numRows];
    for (int i = 0; i < out.length; i++) {
      out[i] = eig.getEigenvalue(i).real;
    }
    return out;
  }

  /** The numpy side, found from the repository root or from the collector module. */
  private static Path script() {
    Path here = Path.of("scripts", "bench_spectrum.py");
    return Files.exists(here) ? here : Path.of("..", "scripts", "bench_spectrum.py");
  }

  private static void row(
      String what, String numpyWhat, Timing t, JsonObject np, String key, Spectrum ours) {
    double med = t.cpu();
    double numpy = np.getDouble(key + "_median_s");
    String diff = "n/a";
    if (ours != null) {
      double[] theirs =
          np.getJsonArray(key + "_eigenvalues").stream()
              .mapToDouble(o -> ((Number) o).doubleValue())
              .toArray();
      diff = String.format(Locale.ROOT, "%.1e", maxDiff(ours.eigenvalues(), theirs));
    }
    System.out.printf(
        Locale.ROOT,
        "| %s | %s | %.3f | %.3f | %.2f | %s |%n",
        what,
        numpyWhat,
        med,
        numpy,
        med / numpy,
        diff);
  }

  private static double maxDiff(double[] a, double[] b) {
    double top = Math.max(a[0], b[0]);
    double max = 0;
    for (int i = 0; i < Math.max(a.length, b.length); i++) {
      double x = i < a.length ? a[i] : 0.0;
      double y = i < b.length ? b[i] : 0.0;
      max = Math.max(max, Math.abs(x - y) / top);
    }
    return max;
  }

  /** Medians of thread CPU time and of wall time over the same runs. */
  private record Timing(double cpu, double wall) {}

  /**
   * CPU time of the calling thread (Spectrum.of is single-threaded), median after two warm-ups so
   * that C2 has compiled the loops; the wall time of the same runs is kept for the footnote.
   */
  private static Timing time(Runnable r, int reps) {
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    r.run();
    r.run();
    double[] t = new double[reps];
    double[] wall = new double[reps];
    for (int i = 0; i < reps; i++) {
      long w0 = System.nanoTime();
      long t0 = mx.getCurrentThreadCpuTime();
      r.run();
      t[i] = (mx.getCurrentThreadCpuTime() - t0) / 1e9;
      wall[i] = (System.nanoTime() - w0) / 1e9;
    }
    return new Timing(median(t), median(wall));
  }

  private static double median(double[] t) {
    double[] s = t.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }

  static void writeNpy(Path p, double[] data, int rows, int cols) throws IOException {
    String dict =
        "{'descr': '<f8', 'fortran_order': False, 'shape': (" + rows + ", " + cols + "), }";
    int pad = (64 - (10 + dict.length() + 1) % 64) % 64;
    String header = dict + " ".repeat(pad) + "\n";
    ByteBuffer bb =
        ByteBuffer.allocate(10 + header.length() + data.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    bb.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
    bb.putShort((short) header.length());
    bb.put(header.getBytes(StandardCharsets.ISO_8859_1));
    for (double v : data) {
      bb.putDouble(v);
    }
    Files.write(p, bb.array());
  }
}
