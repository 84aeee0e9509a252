package io.phasewatch.collector.spectrum;

import io.phasewatch.core.sketch.ExactSnapshot;
import io.phasewatch.core.sketch.FdSnapshot;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Test helpers: the numpy fixtures of scripts/make_spectrum_fixtures.py, read independently of the
 * production readers, and snapshots built straight from a matrix.
 */
final class Fixtures {

  static final Path DIR = Path.of("src", "test", "resources", "fixtures");

  private Fixtures() {}

  /** A {@code <f8} C-order 2-D .npy written by numpy (v1 header), as rows. */
  static double[][] readF8(String name) {
    try {
      byte[] all = Files.readAllBytes(DIR.resolve(name + ".npy"));
      int headerLen = (all[8] & 0xff) | (all[9] & 0xff) << 8;
      String header = new String(all, 10, headerLen, StandardCharsets.ISO_8859_1);
      if (!header.contains("'<f8'") || !header.contains("'fortran_order': False")) {
        throw new IllegalStateException("fixture " + name + " is not C-order <f8: " + header);
      }
      String shape = header.substring(header.indexOf('(') + 1, header.indexOf(')'));
      String[] dims = shape.split(",");
      int n = Integer.parseInt(dims[0].trim());
      int d = Integer.parseInt(dims[1].trim());
      ByteBuffer b = ByteBuffer.wrap(all, 10 + headerLen, n * d * 8).order(ByteOrder.LITTLE_ENDIAN);
      double[][] z = new double[n][d];
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < d; j++) {
          z[i][j] = b.getDouble();
        }
      }
      return z;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static JsonObject expected(String name) {
    try {
      return new JsonObject(Files.readString(DIR.resolve(name + ".json")));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static double[] mean(double[][] z) {
    int d = z[0].length;
    double[] mu = new double[d];
    for (double[] row : z) {
      for (int j = 0; j < d; j++) {
        mu[j] += row[j];
      }
    }
    for (int j = 0; j < d; j++) {
      mu[j] /= z.length;
    }
    return mu;
  }

  /** Two-pass: mean, then Σ (x − μ)(x − μ)ᵀ. */
  static ExactSnapshot exact(double[][] z) {
    int d = z[0].length;
    double[] mu = mean(z);
    double[] m = new double[d * d];
    double[] c = new double[d];
    for (double[] row : z) {
      for (int j = 0; j < d; j++) {
        c[j] = row[j] - mu[j];
      }
      for (int i = 0; i < d; i++) {
        for (int j = 0; j < d; j++) {
          m[i * d + j] += c[i] * c[j];
        }
      }
    }
    return new ExactSnapshot(z.length, mu, m, 0);
  }

  /** An FD snapshot that holds the raw rows themselves (n ≤ ℓ): exact by construction. */
  static FdSnapshot fdOfRawRows(double[][] z, int ell) {
    int d = z[0].length;
    double[] rows = new double[z.length * d];
    double ss = 0;
    for (int i = 0; i < z.length; i++) {
      for (int j = 0; j < d; j++) {
        rows[i * d + j] = z[i][j];
        ss += z[i][j] * z[i][j];
      }
    }
    return new FdSnapshot(ell, z.length, mean(z), rows, ss, 0.0, 0);
  }

  static double[] doubles(io.vertx.core.json.JsonArray a) {
    double[] out = new double[a.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = a.getDouble(i);
    }
    return out;
  }
}
