package io.phasewatch.agent.djl.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.phasewatch.agent.djl.ProbeSet;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProbeTokensTest {

  @TempDir Path dir;

  /** An .npy file as numpy writes it: magic, version 1.0, header padded to 64 bytes, data. */
  private Path npy(String descr, String fortran, long n, long t, byte[] data) throws Exception {
    String header =
        "{'descr': '"
            + descr
            + "', 'fortran_order': "
            + fortran
            + ", 'shape': ("
            + n
            + ", "
            + t
            + "), }";
    int total = 10 + header.length() + 1;
    header = header + " ".repeat((64 - total % 64) % 64) + "\n";
    var out = new ByteArrayOutputStream();
    out.write(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
    out.write(header.length() & 0xFF);
    out.write(header.length() >> 8);
    out.write(header.getBytes(StandardCharsets.ISO_8859_1));
    out.write(data);
    Path p = dir.resolve("probe.npy");
    Files.write(p, out.toByteArray());
    return p;
  }

  private static byte[] int64s(long... v) {
    ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    for (long x : v) {
      b.putLong(x);
    }
    return b.array();
  }

  @Test
  void npyInt64RowsAreSequencesOfFullLength() throws Exception {
    ProbeSet p = ProbeTokens.read(npy("<i8", "False", 2, 3, int64s(1, 2, 3, 4, 5, 6)), 0);
    assertThat(p.size()).isEqualTo(2);
    assertThat(p.sequence(1)).containsExactly(4, 5, 6);
    assertThat(p.lastIndex(0)).isEqualTo(2);
  }

  @Test
  void npyInt32IsReadToo() throws Exception {
    ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(9).putInt(11);
    assertThat(ProbeTokens.read(npy("<i4", "False", 1, 2, b.array()), 0).sequence(0))
        .containsExactly(9, 11);
  }

  @Test
  void npyOfAnotherDtypeOrderOrSizeIsRejectedByName() throws Exception {
    assertThatThrownBy(() -> ProbeTokens.read(npy(">i8", "False", 1, 1, int64s(1)), 0))
        .hasMessageContaining("dtype >i8");
    assertThatThrownBy(() -> ProbeTokens.read(npy("<f4", "False", 1, 2, int64s(1)), 0))
        .hasMessageContaining("dtype <f4");
    assertThatThrownBy(() -> ProbeTokens.read(npy("<i8", "True", 1, 1, int64s(1)), 0))
        .hasMessageContaining("Fortran order");
    assertThatThrownBy(() -> ProbeTokens.read(npy("<i8", "False", 2, 2, int64s(1, 2, 3)), 0))
        .hasMessageContaining("24 data bytes, shape (2, 2) needs 32");
    assertThatThrownBy(() -> ProbeTokens.read(npy("<i8", "False", 1, 1, int64s(-4)), 0))
        .hasMessageContaining("token -4 at (0, 0)");
  }

  @Test
  void textLinesArePaddedOnTheRightAndKeepTheirLastToken() throws Exception {
    Path p = dir.resolve("probe.txt");
    Files.writeString(p, "# three sequences\n5 6 7\n\n8\n1 2\n");
    ProbeSet s = ProbeTokens.read(p, 99);
    assertThat(s.size()).isEqualTo(3);
    assertThat(s.sequence(1)).containsExactly(8, 99, 99);
    assertThat(s.lastIndex(1)).isZero();
    assertThat(s.lastIndex(2)).isEqualTo(1);
  }

  @Test
  void aTextLineWithAWordIsRejectedWithItsLine() throws Exception {
    Path p = dir.resolve("probe.txt");
    Files.writeString(p, "1 2\n3 x\n");
    assertThatThrownBy(() -> ProbeTokens.read(p, 0)).hasMessageContaining("line 2: 'x'");
    Files.writeString(p, "# nothing\n");
    assertThatThrownBy(() -> ProbeTokens.read(p, 0)).hasMessageContaining("no sequences");
  }
}
