package io.phasewatch.agent.publish;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.phasewatch.core.sketch.ExactSnapshot;
import io.phasewatch.core.sketch.FdSnapshot;
import io.phasewatch.core.wire.ChunkAssembler;
import io.phasewatch.core.wire.DecodeLimits;
import io.phasewatch.core.wire.SnapshotCodec;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.WireBytes;
import io.phasewatch.core.wire.WireFormatException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The committed send-buffer files were written by golden/send-buffer/make_golden.py straight from
 * docs/send-buffer.md, not by {@link SpoolStore}; their chunks are the wire-format golden records.
 */
class SendBufferGoldenTest {

  private static byte[] golden(String name) {
    try (InputStream in = SendBufferGoldenTest.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("missing golden file " + name);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static byte[] buffer(String name) {
    return golden("/golden/send-buffer/" + name);
  }

  private static byte[] wire(String name) {
    return golden("/golden/v1/" + name);
  }

  private static SnapshotRecord assemble(List<byte[]> chunks) throws WireFormatException {
    ChunkAssembler assembler = ChunkAssembler.withDefaults();
    Optional<SnapshotRecord> whole = Optional.empty();
    for (byte[] c : chunks) {
      whole = assembler.accept(SnapshotCodec.decode(c, DecodeLimits.defaults()), 0);
    }
    return whole.orElseThrow();
  }

  @Test
  void goldenFileOfFourChunksDecodesToItsKeyAndTheWireRecordsAsSent() throws Exception {
    Pending p = SpoolStore.deserialize(7, buffer("v2_fd_l8_d8.snap"));
    assertThat(p.sequence()).isEqualTo(7);
    assertThat(p.key()).isEqualTo("chunked-run/model.layers.3");
    assertThat(p.chunks()).hasSize(4);
    for (int i = 0; i < 4; i++) {
      assertThat(p.chunks().get(i)).isEqualTo(wire("fd_l8_d8_chunk" + i + ".bin"));
    }
    SnapshotRecord r = assemble(p.chunks());
    assertThat(r.metadata().key()).isEqualTo(p.key());
    assertThat(r.snapshot()).isInstanceOf(FdSnapshot.class);
    assertThat(r.snapshot().dimension()).isEqualTo(8);
  }

  @Test
  void goldenFileWithANonAsciiKeyDecodes() throws Exception {
    Pending p = SpoolStore.deserialize(0, buffer("v2_exact_d3.snap"));
    assertThat(p.key()).isEqualTo("golden-run-é/blocks.0.mlp");
    SnapshotRecord r = assemble(p.chunks());
    assertThat(r.metadata().key()).isEqualTo(p.key());
    assertThat(((ExactSnapshot) r.snapshot()).mean()).containsExactly(0.5, -1.25, 3.0);
  }

  @Test
  void theAgentWritesTheGoldenBytesExactly() {
    List<byte[]> chunks = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      chunks.add(wire("fd_l8_d8_chunk" + i + ".bin"));
    }
    Pending p = new Pending(3, "chunked-run/model.layers.3", chunks, 0);
    assertThat(SpoolStore.serialize(p)).isEqualTo(buffer("v2_fd_l8_d8.snap"));
    assertThat(
            SpoolStore.serialize(
                new Pending(0, "golden-run-é/blocks.0.mlp", List.of(wire("exact_d3.bin")), 0)))
        .isEqualTo(buffer("v2_exact_d3.snap"));
  }

  @Test
  void aFileOfTheFirstBigEndianLayoutIsRefusedAsOldFormat() {
    assertThatThrownBy(() -> SpoolStore.deserialize(0, buffer("v1_exact_d3.snap")))
        .isInstanceOf(SpoolStore.OldFormatException.class)
        .hasMessageContaining("layout version 1");
  }

  @Test
  void anOldFormatFileInTheSpoolIsDroppedCountedAndTheNextOneDelivered(@TempDir Path dir)
      throws Exception {
    Files.write(dir.resolve(String.format("%020d.snap", 0)), buffer("v1_exact_d3.snap"));
    Files.write(dir.resolve(String.format("%020d.snap", 1)), buffer("v2_exact_d3.snap"));
    List<String> drops = new ArrayList<>();
    var store = new SpoolStore(dir, 1 << 20);
    Pending head = store.peek(drops::add);
    assertThat(head.sequence()).isEqualTo(1);
    assertThat(head.key()).isEqualTo("golden-run-é/blocks.0.mlp");
    assertThat(drops).containsExactly("spool_old_format");
    assertThat(dir.resolve(String.format("%020d.snap", 0))).doesNotExist();
    assertThat(store.nextSequence()).isEqualTo(2);
  }

  /** Golden bytes with one field changed, and the CRC recomputed unless the CRC is the point. */
  private static byte[] altered(int offset, byte value, boolean fixCrc) {
    byte[] b = buffer("v2_exact_d3.snap").clone();
    b[offset] = value;
    if (fixCrc) {
      ByteBuffer.wrap(b)
          .order(ByteOrder.LITTLE_ENDIAN)
          .putInt(b.length - 4, WireBytes.crc32c(b, 0, b.length - 4));
    }
    return b;
  }

  @Test
  void damagedFilesAreRefusedNamingWhatWasWrong() {
    byte[] good = buffer("v2_exact_d3.snap");
    assertThatThrownBy(() -> SpoolStore.deserialize(0, altered(40, (byte) 0x55, false)))
        .hasMessageContaining("CRC32C");
    assertThatThrownBy(() -> SpoolStore.deserialize(0, altered(0, (byte) 'X', true)))
        .hasMessageContaining("magic");
    assertThatThrownBy(() -> SpoolStore.deserialize(0, altered(4, (byte) 3, true)))
        .hasMessageContaining("version 3");
    assertThatThrownBy(() -> SpoolStore.deserialize(0, altered(8, (byte) 2, true)))
        .hasMessageContaining("ends before chunk 1");
    assertThatThrownBy(() -> SpoolStore.deserialize(0, altered(8, (byte) 0, true)))
        .hasMessageContaining("chunk count 0");
    // Key length 0x101a: past the end of the file.
    assertThatThrownBy(() -> SpoolStore.deserialize(0, altered(13, (byte) 0x10, true)))
        .hasMessageContaining("send-buffer key of 4122 bytes");
    // 0xFF cannot start a UTF-8 sequence.
    assertThatThrownBy(() -> SpoolStore.deserialize(0, altered(14, (byte) 0xFF, true)))
        .hasMessageContaining("send-buffer key is not UTF-8");
    assertThatThrownBy(() -> SpoolStore.deserialize(0, Arrays.copyOf(good, 15)))
        .hasMessageContaining("truncated");
  }
}
