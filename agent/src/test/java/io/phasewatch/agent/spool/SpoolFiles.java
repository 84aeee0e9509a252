package io.phasewatch.agent.spool;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Writes .npy and .npz files byte by byte as numpy.lib.format (v1.0) lays them out. */
final class SpoolFiles {
  private SpoolFiles() {}

  /** An .npy v1.0 file; {@code values} row-major (or column-major when {@code fortran}). */
  static byte[] npy(String descr, boolean fortran, String shape, float[] values) {
    String dict =
        "{'descr': '"
            + descr
            + "', 'fortran_order': "
            + (fortran ? "True" : "False")
            + ", 'shape': "
            + shape
            + ", }";
    int unpadded = 10 + dict.length() + 1;
    int pad = (64 - unpadded % 64) % 64;
    String header = dict + " ".repeat(pad) + "\n";
    var out = new ByteArrayOutputStream();
    out.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
    int len = header.length();
    out.write(len & 0xff);
    out.write(len >>> 8);
    out.writeBytes(header.getBytes(StandardCharsets.US_ASCII));
    ByteOrder order = descr.startsWith(">") ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
    String kind = descr.substring(1);
    int size = kind.equals("f8") ? 8 : 4;
    ByteBuffer b = ByteBuffer.allocate(values.length * size).order(order);
    for (float v : values) {
      switch (kind) {
        case "f4" -> b.putFloat(v);
        case "f8" -> b.putDouble(v);
        case "i4" -> b.putInt((int) v);
        default -> throw new IllegalArgumentException(kind);
      }
    }
    out.writeBytes(b.array());
    return out.toByteArray();
  }

  /** A little-endian float32 C-order N × d .npy file. */
  static byte[] npy(int n, int d, float[] rows) {
    return npy("<f4", false, "(" + n + ", " + d + ")", rows);
  }

  /** An .npz (zip of .npy entries) with the given arrays. */
  static byte[] npz(Map<String, byte[]> arrays) throws IOException {
    var bytes = new ByteArrayOutputStream();
    try (var zip = new ZipOutputStream(bytes)) {
      for (var e : arrays.entrySet()) {
        zip.putNextEntry(new ZipEntry(e.getKey() + ".npy"));
        zip.write(e.getValue());
        zip.closeEntry();
      }
    }
    return bytes.toByteArray();
  }

  /** Writes under a dot-name and renames, as the contract asks. */
  static Path handOver(Path spool, String name, byte[] content) throws IOException {
    Path tmp = spool.resolve("." + name + ".tmp");
    Files.write(tmp, content);
    return Files.move(tmp, spool.resolve(name), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  /** Deterministic rows: row i of a window, different per step and per column. */
  static float[] rows(long step, int n, int d) {
    float[] r = new float[n * d];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < d; j++) {
        r[i * d + j] = (float) (Math.sin(0.37 * step + 1.3 * i + 0.7 * j * j) * (1 + j % 3));
      }
    }
    return r;
  }
}
