package io.phasewatch.core.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ChunkAssemblerTest {

  private static final DecodeLimits LIMITS = DecodeLimits.defaults();

  /** FD ℓ = 8, d = 8, full, in 256-byte values: 4 chunks. */
  private static final SnapshotRecord RECORD = Forge.fd(8, 8, 8);

  private static List<DecodedChunk> chunks(SnapshotRecord r, int maxRecordBytes)
      throws WireFormatException {
    List<DecodedChunk> out = new ArrayList<>();
    for (byte[] f : SnapshotCodec.encode(r, maxRecordBytes)) {
      out.add(SnapshotCodec.decode(f, LIMITS));
    }
    return out;
  }

  private static ChunkAssembler assembler(int maxSnapshots, long maxBytes) {
    return ChunkAssembler.bounded(maxSnapshots, maxBytes, 1_000, LIMITS);
  }

  @Test
  void singleChunkCompletesAtOnce() throws WireFormatException {
    DecodedChunk whole = SnapshotCodec.decode(Forge.single(RECORD), LIMITS);
    ChunkAssembler a = ChunkAssembler.withDefaults();
    assertThat(a.accept(whole, 0)).contains(RECORD);
    assertThat(a.pendingSnapshots()).isZero();
  }

  @Test
  void duplicateChunksAreIgnoredBeforeAndAfterCompletion() throws WireFormatException {
    List<DecodedChunk> c = chunks(RECORD, 256);
    assertThat(c).hasSize(4);
    ChunkAssembler a = ChunkAssembler.withDefaults();
    assertThat(a.accept(c.get(0), 0)).isEmpty();
    assertThat(a.accept(c.get(0), 1)).isEmpty();
    assertThat(a.accept(c.get(1), 2)).isEmpty();
    assertThat(a.accept(c.get(2), 3)).isEmpty();
    assertThat(a.pendingBytes()).isEqualTo(3 * (256 - WireLayout.FRAME_OVERHEAD));
    assertThat(a.accept(c.get(3), 4)).contains(RECORD);
    // A late copy of a completed snapshot's chunk neither completes it again nor lingers.
    assertThat(a.accept(c.get(1), 5)).isEmpty();
    assertThat(a.pendingSnapshots()).isZero();
    assertThat(a.pendingBytes()).isZero();
  }

  @Test
  void missingChunkExpiresAfterTheTimeoutAndFreesItsBytes() throws WireFormatException {
    List<DecodedChunk> c = chunks(RECORD, 256);
    ChunkAssembler a = assembler(8, 1 << 20);
    a.accept(c.get(0), 1_000);
    a.accept(c.get(2), 1_500);
    a.accept(c.get(3), 1_900);
    assertThat(a.expire(1_999)).isZero();
    assertThat(a.expire(2_000)).isEqualTo(1);
    assertThat(a.pendingSnapshots()).isZero();
    assertThat(a.pendingBytes()).isZero();
  }

  @Test
  void chunkWithDifferentBytesForTheSameIndexIsRejectedAndEarlierChunksStay()
      throws WireFormatException {
    List<DecodedChunk> c = chunks(RECORD, 256);
    ChunkAssembler a = ChunkAssembler.withDefaults();
    a.accept(c.get(1), 0);
    byte[] forged =
        Forge.editHeader(
            SnapshotCodec.encode(RECORD, 256).get(1),
            f -> f.put(WireLayout.F_PAYLOAD + 7, (byte) 0x55));
    DecodedChunk other = SnapshotCodec.decode(forged, LIMITS);
    assertThatThrownBy(() -> a.accept(other, 1))
        .isInstanceOfSatisfying(
            WireFormatException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(RejectReason.BAD_FIELD);
              assertThat(e.field()).isEqualTo("chunkIndex");
            });
    a.accept(c.get(0), 2);
    a.accept(c.get(2), 3);
    assertThat(a.accept(c.get(3), 4)).contains(RECORD);
  }

  @Test
  void chunkContradictingTheSnapshotsGeometryIsRejected() throws WireFormatException {
    List<byte[]> frames = SnapshotCodec.encode(RECORD, 256);
    ChunkAssembler a = ChunkAssembler.withDefaults();
    a.accept(SnapshotCodec.decode(frames.get(0), LIMITS), 0);
    byte[] moreChunks = Forge.editHeader(frames.get(1), f -> f.putInt(WireLayout.F_CHUNK_COUNT, 5));
    DecodedChunk bad = SnapshotCodec.decode(moreChunks, LIMITS);
    assertThatThrownBy(() -> a.accept(bad, 1))
        .isInstanceOfSatisfying(
            WireFormatException.class,
            e -> assertThat(e.reason()).isEqualTo(RejectReason.BAD_FIELD))
        .hasMessageContaining("earlier chunks announced 4 chunks");
  }

  @Test
  void chunksThatDoNotTileTheBodyAreRejectedOnCompletion() throws WireFormatException {
    List<byte[]> frames = SnapshotCodec.encode(RECORD, 256);
    ChunkAssembler a = ChunkAssembler.withDefaults();
    // Chunk 1 claims offset 0: lengths add up, offsets do not.
    byte[] shifted = Forge.editHeader(frames.get(1), f -> f.putInt(WireLayout.F_CHUNK_OFFSET, 0));
    a.accept(SnapshotCodec.decode(frames.get(0), LIMITS), 0);
    a.accept(SnapshotCodec.decode(shifted, LIMITS), 0);
    a.accept(SnapshotCodec.decode(frames.get(2), LIMITS), 0);
    DecodedChunk last = SnapshotCodec.decode(frames.get(3), LIMITS);
    assertThatThrownBy(() -> a.accept(last, 0))
        .isInstanceOfSatisfying(
            WireFormatException.class, e -> assertThat(e.field()).isEqualTo("chunkOffset"));
    assertThat(a.pendingBytes()).isZero();
  }

  @Test
  void pendingSnapshotBoundRejectsNewSnapshotsAndKeepsTheOldOnes() throws WireFormatException {
    ChunkAssembler a = assembler(2, 1 << 20);
    List<DecodedChunk> first = chunks(RECORD, 256);
    List<DecodedChunk> second = chunks(Forge.fd(8, 8, 7), 256);
    List<DecodedChunk> third = chunks(Forge.fd(8, 8, 6), 256);
    a.accept(first.get(0), 0);
    a.accept(second.get(0), 0);
    assertThatThrownBy(() -> a.accept(third.get(0), 0))
        .isInstanceOfSatisfying(
            WireFormatException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(RejectReason.CHUNK_OVERFLOW);
              assertThat(e.field()).isEqualTo("pendingSnapshots");
            });
    for (int i = 1; i < 3; i++) {
      a.accept(first.get(i), 0);
    }
    assertThat(a.accept(first.get(3), 0)).contains(RECORD);
  }

  @Test
  void pendingByteBoundRejectsTheChunkThatWouldExceedIt() throws WireFormatException {
    ChunkAssembler a = assembler(8, 500);
    List<DecodedChunk> c = chunks(RECORD, 256);
    a.accept(c.get(0), 0);
    a.accept(c.get(1), 0);
    assertThatThrownBy(() -> a.accept(c.get(2), 0))
        .isInstanceOfSatisfying(
            WireFormatException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(RejectReason.CHUNK_OVERFLOW);
              assertThat(e.field()).isEqualTo("pendingBytes");
            })
        .hasMessageContaining("limit 500");
    assertThat(a.pendingBytes()).isEqualTo(2 * 212);
  }
}
