package io.phasewatch.agent.bench;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.phasewatch.agent.publish.SnapshotPublisher;
import io.phasewatch.agent.spool.SidecarConfig;
import io.phasewatch.agent.spool.SpoolSidecar;
import io.phasewatch.core.sketch.CovarianceSketch;
import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.core.sketch.FrequentDirections;
import io.phasewatch.core.wire.SnapshotRecord;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * What the spool path costs on top of the sketch: the wall time of {@link SpoolSidecar#drainOnce()}
 * over F {@code .npy} files (listing, name parsing, reading and validating with the array readers,
 * sketching, journaling with fsync, deleting) against the wall time of sketching the same rows
 * straight from memory, measured side by side in each round; the ratio reported is the median over
 * rounds of the within-round ratio. The publisher is a no-op, so encoding and Kafka are not in it.
 *
 * <p>Run: {@code mvn -q -B -pl agent test-compile exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=io.phasewatch.agent.bench.SpoolDrainBenchmark} (system properties {@code
 * bench.rounds}, default 5, and {@code bench.files}, default 8).
 */
public final class SpoolDrainBenchmark {
  private SpoolDrainBenchmark() {}

  private record Shape(String label, int rows, int d, boolean exact) {}

  public static void main(String[] args) throws IOException {
    int rounds = Integer.getInteger("bench.rounds", 5);
    int files = Integer.getInteger("bench.files", 8);
    Shape[] shapes = {
      new Shape("exact d=256, 1024 rows/file", 1024, 256, true),
      new Shape("FD l=256 d=1024, 1024 rows/file", 1024, 1024, false),
    };
    Random rng = new Random(7);
    System.out.println("| shape | files | drain / in-memory sketch (median of " + rounds + ") |");
    System.out.println("|---|---|---|");
    for (Shape s : shapes) {
      float[] rows = new float[s.rows() * s.d()];
      for (int i = 0; i < rows.length; i++) {
        rows[i] = (float) rng.nextGaussian();
      }
      byte[] npy = npy(s.rows(), s.d(), rows);
      double[] ratio = new double[rounds + 1];
      for (int r = 0; r <= rounds; r++) { // round 0 warms up
        Path dir = Files.createTempDirectory("pw-bench");
        for (int f = 0; f < files; f++) {
          Files.write(dir.resolve("run=b,layer=x,step=" + f + ".npy"), npy);
        }
        long t0 = System.nanoTime();
        for (int f = 0; f < files; f++) {
          CovarianceSketch k =
              s.exact() ? ExactSummary.ofDimension(s.d()) : FrequentDirections.withRows(256, s.d());
          k.update(rows, s.rows());
          k.snapshot();
        }
        long memory = System.nanoTime() - t0;
        var config =
            SidecarConfig.load(
                // The FD shape names its kind: above exact-max-dim the default is no longer FD.
                s.exact() ? "" : "sketch: {overrides: [{layer: x, kind: fd, fd-rows: 256}]}\n",
                Map.of(),
                Map.of(
                    "spool.dir",
                    dir.toString(),
                    "sketch.exact-max-dim",
                    s.exact() ? "4096" : "512"));
        try (var sidecar =
            SpoolSidecar.withPublisher(config, new Discard(), new SimpleMeterRegistry())) {
          long t1 = System.nanoTime();
          int done = sidecar.drainOnce();
          long drain = System.nanoTime() - t1;
          if (done != files) {
            throw new IllegalStateException("drained " + done + " of " + files);
          }
          ratio[r] = (double) drain / memory;
        }
        Files.deleteIfExists(dir.resolve(SpoolSidecar.JOURNAL));
        Files.deleteIfExists(dir);
      }
      double[] measured = Arrays.copyOfRange(ratio, 1, ratio.length);
      Arrays.sort(measured);
      System.out.println(
          String.format(
              Locale.ROOT, "| %s | %d | %.2f |", s.label(), files, measured[measured.length / 2]));
    }
  }

  private static final class Discard implements SnapshotPublisher {
    @Override
    public void publish(SnapshotRecord record) {}

    @Override
    public void close(Duration drainTimeout) {}
  }

  private static byte[] npy(int n, int d, float[] values) {
    String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + n + ", " + d + "), }";
    int pad = (64 - (10 + dict.length() + 1) % 64) % 64;
    byte[] header = (dict + " ".repeat(pad) + "\n").getBytes(StandardCharsets.US_ASCII);
    ByteBuffer b =
        ByteBuffer.allocate(10 + header.length + 4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
    b.putShort((short) header.length).put(header);
    for (float v : values) {
      b.putFloat(v);
    }
    return b.array();
  }
}
