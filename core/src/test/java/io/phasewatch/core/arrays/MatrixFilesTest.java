package io.phasewatch.core.arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MatrixFilesTest {

  @TempDir Path tmp;

  private static final double[] VALUES = {1, -2, 0.5, 3.25, -0.0, 65504};

  @Test
  void halfPrecisionDecodesExactly() {
    assertThat(ElementType.halfToFloat((short) 0x3c00)).isEqualTo(1f);
    assertThat(ElementType.halfToFloat((short) 0xc000)).isEqualTo(-2f);
    assertThat(ElementType.halfToFloat((short) 0x7bff)).isEqualTo(65504f);
    assertThat(ElementType.halfToFloat((short) 0x0001)).isEqualTo(0x1p-24f);
    assertThat(ElementType.halfToFloat((short) 0x8400)).isEqualTo(-0x1p-14f);
    assertThat(ElementType.halfToFloat((short) 0x7c00)).isEqualTo(Float.POSITIVE_INFINITY);
    assertThat(ElementType.halfToFloat((short) 0x7e00)).isNaN();
  }

  @Test
  void npyVersionsAndByteOrdersReadTheSameValues() throws IOException {
    for (int version = 1; version <= 3; version++) {
      for (String descr : List.of("<f4", ">f4", "<f8", ">f8")) {
        Path p = tmp.resolve("m" + version + descr.replace('<', 'l').replace('>', 'b') + ".npy");
        Files.write(p, npy(version, descr, "(2, 3)", VALUES));
        List<MatrixFiles.Matrix> ms = MatrixFiles.readAll(p, 100);
        assertThat(ms).hasSize(1);
        assertThat(ms.get(0).info().rows()).isEqualTo(2);
        assertThat(ms.get(0).info().cols()).isEqualTo(3);
        assertThat(ms.get(0).data()).as(version + descr).containsExactly(VALUES);
      }
    }
  }

  @Test
  void safetensorsHalfAndBfloatAreConverted() throws IOException {
    ByteBuffer f16 = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
    f16.putShort((short) 0x3c00).putShort((short) 0xc000);
    ByteBuffer bf16 = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
    bf16.putShort((short) 0x3f80).putShort((short) 0x4049); // 1.0, 3.140625
    String header =
        "{\"__metadata__\":{\"format\":\"pt\"},"
            + "\"b\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[4,8]},"
            + "\"a\":{\"dtype\":\"F16\",\"shape\":[2,1],\"data_offsets\":[0,4]}}";
    Path p = tmp.resolve("t.safetensors");
    Files.write(p, safetensors(header, concat(f16.array(), bf16.array())));
    List<MatrixFiles.Matrix> ms = MatrixFiles.readAll(p, 100);
    assertThat(ms).extracting(m -> m.info().name()).containsExactly("a", "b");
    assertThat(ms.get(0).data()).containsExactly(1, -2);
    assertThat(ms.get(1).data()).containsExactly(1, 3.140625);
  }

  @Test
  void float64KeepsDigitsAndRangeAFloatCannotHold() throws IOException {
    // 1000 + 1e-9 is 1000 as a float; 1e300 and 4.9e-324 are out of a float's range.
    double[] wide = {1000 + 1e-9, 1000 - 3e-12, 1e300, -4.9e-324, Math.PI, 1e39};
    Path p = tmp.resolve("f8.npy");
    Files.write(p, npy(1, "<f8", "(2, 3)", wide));
    assertThat(MatrixFiles.readAll(p, 100).get(0).data()).containsExactly(wide);
  }

  @Test
  void refusalsNameTheProblem() throws IOException {
    assertRefused("i.npy", npy(1, "<i8", "(2, 3)", VALUES), "dtype '<i8'");
    assertRefused("c.npy", npy(1, "<c8", "(2, 3)", VALUES), "dtype '<c8'");
    assertRefused("r3.npy", npy(1, "<f4", "(1, 2, 3)", VALUES), "not 2-D");
    assertRefused("wide.npy", npy(1, "<f4", "(1, 2000000)", VALUES), "exceeds limit");
    assertRefused("huge.npy", npy(1, "<f4", "(9223372036854775807, 3)", VALUES), "overflows");
    assertRefused(
        "v9.npy", new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 9, 0, 0, 0}, "version 9.0");
    String bad = "{\"a\":{\"dtype\":\"I64\",\"shape\":[1,1],\"data_offsets\":[0,8]}}";
    assertRefused("i.safetensors", safetensors(bad, new byte[8]), "dtype I64");
    String deep = "[".repeat(100) + "]".repeat(100);
    assertRefused("deep.safetensors", safetensors(deep, new byte[0]), "nesting");
    String lies = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,8]}}";
    assertRefused("lies.safetensors", safetensors(lies, new byte[8]), "do not hold 16 bytes");
  }

  @Test
  void npzEntriesAreNamedAfterTheirArrays() throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
      zip.putNextEntry(new ZipEntry("h0.npy"));
      zip.write(npy(1, "<f4", "(3, 2)", VALUES));
      zip.closeEntry();
      zip.putNextEntry(new ZipEntry("h1.npy"));
      zip.write(npy(1, ">f8", "(2, 3)", VALUES));
      zip.closeEntry();
    }
    Path p = tmp.resolve("a.npz");
    Files.write(p, bytes.toByteArray());
    List<MatrixFiles.Matrix> ms = MatrixFiles.readAll(p, 100);
    assertThat(ms).extracting(m -> m.info().name()).containsExactly("h0", "h1");
    assertThat(ms.get(1).data()).containsExactly(VALUES);
  }

  /**
   * Truncations, bit flips and random bytes of valid files: the only outcomes are a successful read
   * or an IOException, never another exception or a large allocation.
   */
  @Property(tries = 300)
  void damagedFilesFailOnlyWithIoException(
      @ForAll @IntRange(min = 0, max = 2) int format,
      @ForAll @IntRange(min = 0, max = 2) int damage,
      @ForAll long seed)
      throws IOException {
    Random rnd = new Random(seed);
    byte[] good;
    String ext;
    if (format == 0) {
      good = npy(1, "<f4", "(2, 3)", VALUES);
      ext = ".npy";
    } else if (format == 1) {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
        zip.putNextEntry(new ZipEntry("h0.npy"));
        zip.write(npy(1, "<f8", "(2, 3)", VALUES));
        zip.closeEntry();
      }
      good = bytes.toByteArray();
      ext = ".npz";
    } else {
      String h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}";
      good = safetensors(h, new byte[24]);
      ext = ".safetensors";
    }
    byte[] bad = good.clone();
    if (damage == 0) {
      bad = java.util.Arrays.copyOf(good, rnd.nextInt(good.length));
    } else if (damage == 1) {
      for (int i = 0; i < 1 + rnd.nextInt(4); i++) {
        int at = rnd.nextInt(bad.length);
        bad[at] ^= (byte) (1 << rnd.nextInt(8));
      }
    } else {
      rnd.nextBytes(bad);
    }
    Path p = Files.createTempFile("fuzz", ext);
    try {
      Files.write(p, bad);
      MatrixFiles.readAll(p, 1_000_000);
    } catch (IOException expected) {
      // the only allowed failure
    } finally {
      Files.delete(p);
    }
  }

  private void assertRefused(String name, byte[] bytes, String problem) throws IOException {
    Path p = tmp.resolve(name);
    Files.write(p, bytes);
    assertThatThrownBy(() -> MatrixFiles.readAll(p, 1000))
        .isInstanceOf(ArrayFormatException.class)
        .hasMessageContaining(problem);
  }

  static byte[] npy(int version, String descr, String shape, double[] values) {
    String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    int pre = version == 1 ? 10 : 12;
    int total = pre + dict.length() + 1;
    int pad = (64 - total % 64) % 64;
    String header = dict + " ".repeat(pad) + "\n";
    ByteOrder order = descr.charAt(0) == '>' ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
    int size = descr.endsWith("8") ? 8 : 4;
    ByteBuffer b =
        ByteBuffer.allocate(pre + header.length() + values.length * size)
            .order(ByteOrder.LITTLE_ENDIAN);
    b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) version, 0});
    if (version == 1) {
      b.putShort((short) header.length());
    } else {
      b.putInt(header.length());
    }
    b.put(header.getBytes(StandardCharsets.ISO_8859_1));
    b.order(order);
    for (double v : values) {
      if (size == 8) {
        b.putDouble(v);
      } else {
        b.putFloat((float) v);
      }
    }
    return b.array();
  }

  static byte[] safetensors(String header, byte[] data) {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(h.length).put(h).put(data);
    return b.array();
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
