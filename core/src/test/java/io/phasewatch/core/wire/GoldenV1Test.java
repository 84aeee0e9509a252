package io.phasewatch.core.wire;

import static org.assertj.core.api.Assertions.assertThat;

import io.phasewatch.core.sketch.ExactSnapshot;
import io.phasewatch.core.sketch.FdSnapshot;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The committed v1 files were written by golden/v1/make_golden.py straight from the spec, not by
 * the Java encoder. Every decoder of every later version must still read them to these values.
 */
class GoldenV1Test {

  static byte[] golden(String name) {
    try (InputStream in = GoldenV1Test.class.getResourceAsStream("/golden/v1/" + name)) {
      if (in == null) {
        throw new IllegalStateException("missing golden file " + name);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static SnapshotRecord decodeWhole(String name) throws WireFormatException {
    return SnapshotCodec.decode(golden(name), DecodeLimits.defaults()).whole().orElseThrow();
  }

  @Test
  void goldenExactSummaryDecodesToItsValues() throws WireFormatException {
    SnapshotRecord r = decodeWhole("exact_d3.bin");
    assertThat(r.metadata())
        .isEqualTo(
            new SnapshotMetadata(
                "golden-run-é",
                Stage.SFT,
                1,
                4,
                "blocks.0.mlp",
                1200,
                12,
                4_915_200,
                1_764_460_800_000L,
                7));
    ExactSnapshot s = (ExactSnapshot) r.snapshot();
    assertThat(s.count()).isEqualTo(5);
    assertThat(s.nonFiniteRows()).isEqualTo(2);
    assertThat(s.mean()).containsExactly(0.5, -1.25, 3.0);
    assertThat(s.comoment())
        .containsExactly(
            4.0, 1.0, 0.5, //
            1.0, 9.0, -2.0, //
            0.5, -2.0, 16.0);
  }

  @Test
  void goldenFdSnapshotDecodesToItsValues() throws WireFormatException {
    SnapshotRecord r = decodeWhole("fd_l4_d3.bin");
    assertThat(r.metadata())
        .isEqualTo(
            new SnapshotMetadata(
                "r1", Stage.PRETRAIN, 0, 1, "h.11", 100, 3, 409_600, 1_764_460_800_123L, 0));
    FdSnapshot s = (FdSnapshot) r.snapshot();
    assertThat(s.ell()).isEqualTo(4);
    assertThat(s.rowCount()).isEqualTo(2);
    assertThat(s.count()).isEqualTo(10);
    assertThat(s.nonFiniteRows()).isZero();
    assertThat(s.sumOfSquares()).isEqualTo(20.5);
    assertThat(s.shrinkage()).isEqualTo(1.5);
    assertThat(s.mean()).containsExactly(0.1, 0.2, 0.3);
    assertThat(s.rows()).containsExactly(1.0, 2.0, 3.0, 0.5, -0.5, 0.25);
  }

  @Test
  void goldenChunkedSnapshotAssemblesToItsValues() throws WireFormatException {
    List<DecodedChunk> chunks = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      chunks.add(
          SnapshotCodec.decode(golden("fd_l8_d8_chunk" + i + ".bin"), DecodeLimits.defaults()));
    }
    assertThat(chunks).allSatisfy(c -> assertThat(c.whole()).isEmpty());
    assertThat(chunks).extracting(DecodedChunk::chunkCount).containsOnly(4);
    assertThat(chunks).extracting(DecodedChunk::bodyLength).containsOnly(701);
    assertThat(chunks).extracting(DecodedChunk::offset).containsExactly(0, 212, 424, 636);

    ChunkAssembler assembler = ChunkAssembler.withDefaults();
    // Out of order on purpose: 2, 0, 3, 1.
    assertThat(assembler.accept(chunks.get(2), 0)).isEmpty();
    assertThat(assembler.accept(chunks.get(0), 1)).isEmpty();
    assertThat(assembler.accept(chunks.get(3), 2)).isEmpty();
    Optional<SnapshotRecord> done = assembler.accept(chunks.get(1), 3);

    SnapshotRecord r = done.orElseThrow();
    assertThat(r.metadata())
        .isEqualTo(
            new SnapshotMetadata(
                "chunked-run",
                Stage.RLVR,
                2,
                8,
                "model.layers.3",
                5000,
                41,
                8_589_934_592L,
                1_764_460_801_000L,
                3));
    FdSnapshot s = (FdSnapshot) r.snapshot();
    assertThat(s.ell()).isEqualTo(8);
    assertThat(s.rowCount()).isEqualTo(8);
    assertThat(s.count()).isEqualTo(1000);
    assertThat(s.nonFiniteRows()).isEqualTo(4);
    assertThat(s.sumOfSquares()).isEqualTo(12000.0);
    assertThat(s.shrinkage()).isEqualTo(0.75);
    assertThat(s.mean()).containsExactly(0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75);
    double[] rows = s.rows();
    // Row i, column j holds (i + 1) + j / 8; spot-check corners and one inner value.
    assertThat(rows[0]).isEqualTo(1.0);
    assertThat(rows[7]).isEqualTo(1.875);
    assertThat(rows[3 * 8 + 5]).isEqualTo(4.625);
    assertThat(rows[63]).isEqualTo(8.875);
    assertThat(assembler.pendingSnapshots()).isZero();
    assertThat(assembler.pendingBytes()).isZero();
  }

  @Test
  void encoderStillWritesTheGoldenBytes() {
    // v1 is frozen: the encoder, given the golden values, must reproduce the files bit for bit.
    SnapshotRecord exact =
        new SnapshotRecord(
            new SnapshotMetadata(
                "golden-run-é",
                Stage.SFT,
                1,
                4,
                "blocks.0.mlp",
                1200,
                12,
                4_915_200,
                1_764_460_800_000L,
                7),
            new ExactSnapshot(
                5,
                new double[] {0.5, -1.25, 3.0},
                new double[] {4.0, 1.0, 0.5, 1.0, 9.0, -2.0, 0.5, -2.0, 16.0},
                2));
    assertThat(SnapshotCodec.encode(exact, SnapshotCodec.DEFAULT_MAX_RECORD_BYTES))
        .singleElement()
        .isEqualTo(golden("exact_d3.bin"));

    double[] rows = new double[64];
    for (int i = 0; i < 8; i++) {
      for (int j = 0; j < 8; j++) {
        rows[i * 8 + j] = (i + 1) + j / 8.0;
      }
    }
    SnapshotRecord chunked =
        new SnapshotRecord(
            new SnapshotMetadata(
                "chunked-run",
                Stage.RLVR,
                2,
                8,
                "model.layers.3",
                5000,
                41,
                8_589_934_592L,
                1_764_460_801_000L,
                3),
            new FdSnapshot(
                8,
                1000,
                new double[] {0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75},
                rows,
                12000.0,
                0.75,
                4));
    List<byte[]> frames = SnapshotCodec.encode(chunked, 256);
    assertThat(frames).hasSize(4);
    for (int i = 0; i < 4; i++) {
      assertThat(frames.get(i)).isEqualTo(golden("fd_l8_d8_chunk" + i + ".bin"));
    }
  }
}
