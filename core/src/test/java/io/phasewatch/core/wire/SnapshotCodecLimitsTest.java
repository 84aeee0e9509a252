package io.phasewatch.core.wire;

import static io.phasewatch.core.wire.WireLayout.B_COUNT;
import static io.phasewatch.core.wire.WireLayout.B_DIMENSION;
import static io.phasewatch.core.wire.WireLayout.B_ELL;
import static io.phasewatch.core.wire.WireLayout.B_FLAGS;
import static io.phasewatch.core.wire.WireLayout.B_KIND;
import static io.phasewatch.core.wire.WireLayout.B_RANK;
import static io.phasewatch.core.wire.WireLayout.B_ROW_COUNT;
import static io.phasewatch.core.wire.WireLayout.B_STAGE;
import static io.phasewatch.core.wire.WireLayout.B_STRINGS;
import static io.phasewatch.core.wire.WireLayout.F_BODY_LENGTH;
import static io.phasewatch.core.wire.WireLayout.F_CHUNK_COUNT;
import static io.phasewatch.core.wire.WireLayout.F_CHUNK_INDEX;
import static io.phasewatch.core.wire.WireLayout.F_VERSION;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.phasewatch.core.sketch.ExactSnapshot;
import io.phasewatch.core.sketch.FdSnapshot;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;

class SnapshotCodecLimitsTest {

  private static final DecodeLimits LIMITS = DecodeLimits.defaults();

  /** exact, d = 3, run r1, layer l12: runId at 80..83, layer at 84..88, payload from 89. */
  private static final byte[] EXACT = Forge.single(Forge.exact(3));

  private static final byte[] FD = Forge.single(Forge.fd(4, 3, 2));

  private static AbstractThrowableAssert<?, ? extends Throwable> assertRejected(
      byte[] value, RejectReason reason, String field) {
    return assertThatThrownBy(() -> SnapshotCodec.decode(value, LIMITS))
        .isInstanceOfSatisfying(
            WireFormatException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(reason);
              assertThat(e.field()).isEqualTo(field);
            });
  }

  private static byte[] body(byte[] frame, Consumer<ByteBuffer> edit) {
    return Forge.editBody(frame, edit);
  }

  @Test
  void decodeRejectsUnknownFormatVersion() {
    byte[] v2 = Forge.editHeader(EXACT, f -> f.putShort(F_VERSION, (short) 2));
    assertRejected(v2, RejectReason.BAD_VERSION, "version")
        .hasMessage("snapshot: format version 2 is newer than this decoder (reads 1)");
    byte[] v0 = Forge.editHeader(EXACT, f -> f.putShort(F_VERSION, (short) 0));
    assertRejected(v0, RejectReason.BAD_VERSION, "version");
  }

  @Test
  void decodeRejectsBadMagic() {
    byte[] v = EXACT.clone();
    v[0] = 'X';
    assertRejected(v, RejectReason.BAD_MAGIC, "magic");
    assertRejected(new byte[] {'{', '"', 'a', '"', ':', '1', '}'}, RejectReason.BAD_MAGIC, "magic");
  }

  @Test
  void decodeRejectsFlippedPayloadBitByCrc() {
    byte[] v = EXACT.clone();
    v[WireLayout.F_PAYLOAD + 100] ^= 0x10;
    assertRejected(v, RejectReason.BAD_CRC, "crc");
  }

  @Test
  void decodeRejectsBodyCrcMismatchEvenWithValidFrameCrc() {
    byte[] v = Forge.editHeader(EXACT, f -> f.putInt(WireLayout.F_BODY_CRC, 12345));
    assertRejected(v, RejectReason.BAD_CRC, "bodyCrc");
  }

  @Test
  void decodeRejectsDimensionAboveLimit() {
    byte[] v = body(EXACT, b -> b.putInt(B_DIMENSION, 70_000));
    assertRejected(v, RejectReason.TOO_LARGE, "dimension")
        .hasMessage("snapshot v1: dim 70000 exceeds limit 65536 (run=r1, layer=l12)");
  }

  @Test
  void decodeRejectsDimensionAboveAConfiguredLimit() {
    DecodeLimits tight = new DecodeLimits(2, 4096, 256, 16, 1 << 20, 1 << 20);
    assertThatThrownBy(() -> SnapshotCodec.decode(EXACT, tight))
        .hasMessage("snapshot v1: dim 3 exceeds limit 2 (run=r1, layer=l12)");
  }

  @Test
  void decodeRejectsNegativeTotalVariance() {
    // Σ‖z‖² = 123 with N = 1000 and ‖μ‖² = 0.3125: (Σ‖z‖² − N‖μ‖²)/(N − 1) < 0.
    FdSnapshot bad =
        new FdSnapshot(4, 1000, new double[] {0, 0.25, 0.5}, new double[6], 123.0, 0, 0);
    byte[] value =
        Forge.single(new io.phasewatch.core.wire.SnapshotRecord(Forge.metadata("r1", "l12"), bad));
    assertRejected(value, RejectReason.BAD_FIELD, "sumOfSquares")
        .hasMessage(
            "snapshot v1: sumOfSquares 123.0 < count·‖mean‖² 312.5: negative total variance"
                + " (run=r1, layer=l12)");
  }

  @Test
  void decodeAcceptsZeroSpreadWhoseSumsWereRoundedApart() throws WireFormatException {
    // Constant rows: Σ‖z‖² = N‖μ‖² up to rounding, a hair below it here.
    double nMeanSquare = 1000 * (0.1 * 0.1 + 0.2 * 0.2);
    FdSnapshot flat =
        new FdSnapshot(
            4, 1000, new double[] {0.1, 0.2}, new double[4], Math.nextDown(nMeanSquare), 0, 0);
    SnapshotCodec.decode(
        Forge.single(new io.phasewatch.core.wire.SnapshotRecord(Forge.metadata("r1", "l12"), flat)),
        LIMITS);
  }

  @Test
  void decodeRejectsExactSummaryWithARowCountUnderTheFieldEll() {
    // One rule covers both fields of an exact summary (ell = rowCount = 0); it names ell.
    assertRejected(body(EXACT, b -> b.putInt(B_ROW_COUNT, 1)), RejectReason.BAD_FIELD, "ell")
        .hasMessage("snapshot v1: exact summary with ell 0 and rowCount 1 (run=r1, layer=l12)");
  }

  @Test
  void decodeRejectsASingleChunkThatDoesNotCoverItsBody() {
    // bodyLength 8 more than the slice: with chunkCount 1 the slice must be the whole body.
    byte[] shortSlice =
        Forge.editHeader(EXACT, f -> f.putInt(F_BODY_LENGTH, f.getInt(F_BODY_LENGTH) + 8));
    assertRejected(shortSlice, RejectReason.BAD_FIELD, "chunkOffset");
    byte[] offsetSlice =
        Forge.editHeader(
            EXACT,
            f -> {
              f.putInt(F_BODY_LENGTH, f.getInt(F_BODY_LENGTH) + 4);
              f.putInt(WireLayout.F_CHUNK_OFFSET, 4);
            });
    assertRejected(offsetSlice, RejectReason.BAD_FIELD, "chunkOffset");
  }

  @Test
  void decodeRejectsZeroDimension() {
    assertRejected(body(EXACT, b -> b.putInt(B_DIMENSION, 0)), RejectReason.BAD_FIELD, "dimension");
  }

  @Test
  void decodeRejectsEllAboveLimit() {
    assertRejected(body(FD, b -> b.putInt(B_ELL, 5000)), RejectReason.TOO_LARGE, "ell")
        .hasMessage("snapshot v1: ell 5000 exceeds limit 4096 (run=r1, layer=l12)");
  }

  @Test
  void decodeRejectsRowCountAboveEll() {
    assertRejected(body(FD, b -> b.putInt(B_ROW_COUNT, 5)), RejectReason.BAD_FIELD, "rowCount");
  }

  @Test
  void decodeRejectsExactSummaryWithSketchRows() {
    assertRejected(body(EXACT, b -> b.putInt(B_ELL, 4)), RejectReason.BAD_FIELD, "ell");
  }

  @Test
  void decodeRejectsForgedDimensionThatTheBytesDoNotHold() {
    // d = 4096 is within the limit, but a 4096² co-moment needs 67 MB the value does not have.
    assertRejected(body(EXACT, b -> b.putInt(B_DIMENSION, 4096)), RejectReason.TRUNCATED, "body")
        .hasMessageContaining("dim 4096")
        .hasMessageContaining("(run=r1, layer=l12)");
  }

  @Test
  void forgedHeadersNeverCauseLargeAllocations() throws Exception {
    List<byte[]> forged =
        List.of(
            body(EXACT, b -> b.putInt(B_DIMENSION, 65_536)),
            body(
                FD,
                b -> b.putInt(B_DIMENSION, 65_536).putInt(B_ELL, 4096).putInt(B_ROW_COUNT, 4096)),
            body(FD, b -> b.putInt(B_DIMENSION, -1)),
            body(EXACT, b -> b.putShort(B_STRINGS, (short) -1)),
            Forge.editHeader(EXACT, f -> f.putInt(F_BODY_LENGTH, Integer.MAX_VALUE)),
            Forge.editHeader(EXACT, f -> f.putInt(F_CHUNK_COUNT, -1)),
            Forge.editHeader(EXACT, f -> f.putInt(WireLayout.F_PAYLOAD_LENGTH, -1)));
    SnapshotCodec.decode(EXACT, LIMITS); // warm up class loading outside the measurement
    for (byte[] v : forged) {
      long allocated = Allocation.of(() -> SnapshotCodec.decode(v, LIMITS));
      assertThat(allocated).as("bytes allocated decoding a forged header").isLessThan(64 * 1024);
      assertThatThrownBy(() -> SnapshotCodec.decode(v, LIMITS))
          .isInstanceOf(WireFormatException.class);
    }
  }

  @Test
  void decodeRejectsRunIdLongerThanLimit() {
    byte[] longRun = new byte[300];
    Arrays.fill(longRun, (byte) 'a');
    byte[] body = Forge.body(EXACT);
    ByteBuffer b = ByteBuffer.allocate(body.length + 298).order(ByteOrder.LITTLE_ENDIAN);
    b.put(body, 0, B_STRINGS).putShort((short) 300).put(longRun);
    b.put(body, B_STRINGS + 4, body.length - B_STRINGS - 4);
    assertRejected(Forge.frame(b.array()), RejectReason.TOO_LARGE, "runId")
        .hasMessage("snapshot v1: runId of 300 bytes exceeds limit 256");
  }

  @Test
  void decodeRejectsMalformedUtf8() {
    // run id "r1" → 0xC3 0x28: an invalid two-byte sequence.
    byte[] v = body(EXACT, b -> b.put(B_STRINGS + 2, (byte) 0xC3).put(B_STRINGS + 3, (byte) 0x28));
    assertRejected(v, RejectReason.BAD_FIELD, "runId");
  }

  @Test
  void decodeRejectsEmptyLayer() {
    byte[] body = Forge.body(EXACT);
    // Drop the three layer bytes "l12" and set its length to 0.
    byte[] shorter = new byte[body.length - 3];
    System.arraycopy(body, 0, shorter, 0, B_STRINGS + 4);
    System.arraycopy(body, B_STRINGS + 9, shorter, B_STRINGS + 6, body.length - B_STRINGS - 9);
    ByteBuffer.wrap(shorter).order(ByteOrder.LITTLE_ENDIAN).putShort(B_STRINGS + 4, (short) 0);
    assertRejected(Forge.frame(shorter), RejectReason.BAD_FIELD, "layer");
  }

  @Test
  void decodeRejectsRecordAboveMaxRecordBytes() {
    DecodeLimits small = new DecodeLimits(65_536, 4096, 256, 16, 1 << 20, 128);
    assertThatThrownBy(() -> SnapshotCodec.decode(EXACT, small))
        .isInstanceOfSatisfying(
            WireFormatException.class,
            e -> assertThat(e.reason()).isEqualTo(RejectReason.TOO_LARGE))
        .hasMessage("snapshot v1: record value of " + EXACT.length + " bytes exceeds limit 128");
  }

  @Test
  void decodeRejectsBodyAboveSnapshotLimit() {
    byte[] v = Forge.editHeader(EXACT, f -> f.putInt(F_BODY_LENGTH, (256 << 20) + 1));
    assertRejected(v, RejectReason.TOO_LARGE, "bodyLength");
  }

  @Test
  void decodeRejectsChunkCountAboveLimit() {
    byte[] v = Forge.editHeader(EXACT, f -> f.putInt(F_CHUNK_COUNT, 1025));
    assertRejected(v, RejectReason.TOO_LARGE, "chunkCount")
        .hasMessageContaining("chunk count 1025 exceeds limit 1024");
  }

  @Test
  void decodeRejectsChunkIndexNotBelowCount() {
    byte[] v = Forge.editHeader(EXACT, f -> f.putInt(F_CHUNK_INDEX, 1));
    assertRejected(v, RejectReason.BAD_FIELD, "chunkIndex");
  }

  @Test
  void decodeRejectsNonFiniteMean() {
    byte[] v = body(EXACT, b -> b.putDouble(B_STRINGS + 9, Double.NaN));
    assertRejected(v, RejectReason.BAD_FIELD, "mean").hasMessageContaining("NaN");
  }

  @Test
  void decodeRejectsInfiniteComoment() {
    byte[] v = body(EXACT, b -> b.putDouble(B_STRINGS + 9 + 3 * 8 + 8, Double.POSITIVE_INFINITY));
    assertRejected(v, RejectReason.BAD_FIELD, "comoment");
  }

  @Test
  void decodeRejectsNonFiniteSketchRows() {
    // FD payload: sumOfSquares, shrinkage, mean[3], rows[6].
    byte[] v = body(FD, b -> b.putDouble(B_STRINGS + 9 + 5 * 8, Double.NEGATIVE_INFINITY));
    assertRejected(v, RejectReason.BAD_FIELD, "rows");
  }

  @Test
  void decodeRejectsNegativeShrinkage() {
    byte[] v = body(FD, b -> b.putDouble(B_STRINGS + 9 + 8, -1.0));
    assertRejected(v, RejectReason.BAD_FIELD, "shrinkage");
  }

  @Test
  void decodeRejectsNegativeCount() {
    assertRejected(body(EXACT, b -> b.putLong(B_COUNT, -5)), RejectReason.BAD_FIELD, "count")
        .hasMessage("snapshot v1: count -5 must be ≥ 0 (run=r1, layer=l12)");
  }

  @Test
  void decodeRejectsRankNotBelowWorldSize() {
    assertRejected(body(EXACT, b -> b.putInt(B_RANK, 2)), RejectReason.BAD_FIELD, "rank")
        .hasMessage("snapshot v1: rank 2 outside world size 2 (run=r1, layer=l12)");
  }

  @Test
  void decodeRejectsUnknownStageKindAndFlags() {
    assertRejected(body(EXACT, b -> b.put(B_STAGE, (byte) 5)), RejectReason.BAD_FIELD, "stage");
    assertRejected(body(EXACT, b -> b.put(B_KIND, (byte) 200)), RejectReason.BAD_FIELD, "kind");
    assertRejected(body(EXACT, b -> b.put(B_KIND, (byte) 0)), RejectReason.BAD_FIELD, "kind");
    assertRejected(
        body(EXACT, b -> b.putShort(B_FLAGS, (short) 0x0100)), RejectReason.BAD_FIELD, "flags");
    assertRejected(
        Forge.editHeader(EXACT, f -> f.putShort(WireLayout.F_RESERVED, (short) 1)),
        RejectReason.BAD_FIELD,
        "reserved");
  }

  @Test
  void decodeRejectsTrailingBytesAfterFrameAndAfterBody() {
    assertRejected(Arrays.copyOf(EXACT, EXACT.length + 1), RejectReason.BAD_FIELD, "payloadLength");
    byte[] body = Forge.body(EXACT);
    assertRejected(
        Forge.frame(Arrays.copyOf(body, body.length + 8)), RejectReason.BAD_FIELD, "body");
  }

  @Test
  void decodeRejectsTruncatedValue() {
    assertRejected(Arrays.copyOf(EXACT, EXACT.length - 1), RejectReason.TRUNCATED, "payloadLength");
    assertRejected(Arrays.copyOf(EXACT, 20), RejectReason.TRUNCATED, "value");
    assertRejected(new byte[0], RejectReason.TRUNCATED, "value");
    byte[] body = Forge.body(FD);
    assertRejected(
        Forge.frame(Arrays.copyOf(body, body.length - 8)), RejectReason.TRUNCATED, "body");
  }

  @Test
  void rejectReasonLabelsMatchTheMetricContract() {
    assertThat(Arrays.stream(RejectReason.values()).map(RejectReason::label))
        .containsExactly(
            "bad_magic",
            "bad_version",
            "bad_crc",
            "too_large",
            "truncated",
            "bad_field",
            "chunk_timeout",
            "chunk_overflow");
  }

  @Test
  void encodeSplitsOnlyWhatDoesNotFitAndKeepsEveryValueUnderTheMaximum() {
    // FD ℓ = 256, d = 4096: 8 MiB of sketch rows → 10 values under the 900 kB default.
    SnapshotRecord big = Forge.fd(256, 4096, 256);
    List<byte[]> frames = SnapshotCodec.encode(big, SnapshotCodec.DEFAULT_MAX_RECORD_BYTES);
    assertThat(frames).hasSize(10);
    assertThat(frames)
        .allSatisfy(
            f -> assertThat(f.length).isLessThanOrEqualTo(SnapshotCodec.DEFAULT_MAX_RECORD_BYTES));
    assertThat(SnapshotCodec.encode(Forge.fd(128, 512, 128), 900_000)).hasSize(1);
  }

  @Test
  void encodeRefusesWhatADefaultDecoderWouldReject() {
    double[] mean = {1, Double.NaN};
    SnapshotRecord nan =
        new SnapshotRecord(
            Forge.metadata("r1", "l12"), new ExactSnapshot(1, mean, new double[4], 0));
    assertThatThrownBy(() -> SnapshotCodec.encode(nan, 900_000))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("mean");

    SnapshotRecord hugeEll =
        new SnapshotRecord(
            Forge.metadata("r1", "l12"),
            new FdSnapshot(5000, 1, new double[2], new double[0], 0, 0, 0));
    assertThatThrownBy(() -> SnapshotCodec.encode(hugeEll, 900_000))
        .hasMessage("snapshot v1: ell 5000 exceeds limit 4096 (run=r1, layer=l12)");

    SnapshotRecord longLayer =
        new SnapshotRecord(Forge.metadata("r1", "x".repeat(257)), Forge.exact(2).snapshot());
    assertThatThrownBy(() -> SnapshotCodec.encode(longLayer, 900_000))
        .hasMessage("snapshot v1: layer of 257 UTF-8 bytes exceeds limit 256");

    SnapshotRecord surrogate =
        new SnapshotRecord(Forge.metadata("r\uD800", "l12"), Forge.exact(2).snapshot());
    assertThatThrownBy(() -> SnapshotCodec.encode(surrogate, 900_000))
        .hasMessageContaining("runId is not valid Unicode");

    assertThatThrownBy(() -> SnapshotCodec.encode(Forge.exact(2), 63))
        .hasMessageContaining("chunk size 63");
    // 2000 chunks of 20 payload bytes exceed the 1024-chunk limit.
    assertThatThrownBy(() -> SnapshotCodec.encode(Forge.fd(64, 64, 64), 64))
        .hasMessageContaining("exceed limit 1024");
  }
}
