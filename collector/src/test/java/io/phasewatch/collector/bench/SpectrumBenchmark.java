package io.phasewatch.collector.bench;

import io.phasewatch.agent.sketch.ExactSnapshot;
import io.phasewatch.agent.sketch.FdSnapshot;
import io.phasewatch.collector.spectrum.Spectrum;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
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

/**
 * The spectrum of an ℓ = 512, d = 4096 Frequent Directions snapshot and of an exact d = 1024
 * summary, phasewatch (EJML) against numpy on the same data in the same run. The data are written
 * as .npy, {@code scripts/bench_spectrum.py} times numpy's same computation (thin QR + {@code
 * eigvalsh} for FD; {@code eigvalsh} of the covariance for exact), both single-threaded; the ratio
 * is phasewatch's median time over numpy's. The eigenvalues of both are compared too.
 *
 * <p>Run: {@code mvn -q -B install -DskipTests -pl agent && mvn -q -B -pl collector test-compile
 * exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=io.phasewatch.collector.bench.SpectrumBenchmark} (property {@code bench.reps},
 * default 5).
 */
public final class SpectrumBenchmark {

  private SpectrumBenchmark() {}

  public static void main(String[] args) throws Exception {
    int reps = Integer.getInteger("bench.reps", 5);
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

    double[] tFd = time(() -> Spectrum.of(fd), reps);
    double[] tEx = time(() -> Spectrum.of(ex), reps);
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
        "| spectrum | phasewatch median s | numpy median s | ratio (≤ 1.5 target) | max abs(Δλ)/λ₁ |");
    System.out.println("|---|---|---|---|---|");
    row(
        "FD ℓ=512, d=4096 (QR of [B; √n μ] + eigvalsh)",
        tFd,
        np.getDouble("fd_median_s"),
        maxDiff(
            sFd.eigenvalues(),
            np.getJsonArray("fd_eigenvalues").stream()
                .mapToDouble(o -> ((Number) o).doubleValue())
                .toArray()));
    row(
        "exact d=1024 (eigvalsh of C)",
        tEx,
        np.getDouble("exact_median_s"),
        maxDiff(
            sEx.eigenvalues(),
            np.getJsonArray("exact_eigenvalues").stream()
                .mapToDouble(o -> ((Number) o).doubleValue())
                .toArray()));
  }

  /** The numpy side, found from the repository root or from the collector module. */
  private static Path script() {
    Path here = Path.of("scripts", "bench_spectrum.py");
    return Files.exists(here) ? here : Path.of("..", "scripts", "bench_spectrum.py");
  }

  private static void row(String what, double[] t, double numpy, double diff) {
    double med = median(t);
    System.out.printf(
        Locale.ROOT, "| %s | %.3f | %.3f | %.2f | %.1e |%n", what, med, numpy, med / numpy, diff);
  }

  private static double maxDiff(double[] a, double[] b) {
    double top = Math.max(a[0], b[0]);
    double max = 0;
    for (int i = 0; i < Math.min(a.length, b.length); i++) {
      max = Math.max(max, Math.abs(a[i] - b[i]) / top);
    }
    return max;
  }

  private static double[] time(Runnable r, int reps) {
    r.run();
    double[] t = new double[reps];
    for (int i = 0; i < reps; i++) {
      long t0 = System.nanoTime();
      r.run();
      t[i] = (System.nanoTime() - t0) / 1e9;
    }
    return t;
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
