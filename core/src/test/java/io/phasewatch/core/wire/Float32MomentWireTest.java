package io.phasewatch.core.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.phasewatch.core.sketch.Float32MomentSnapshot;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Kind 4, the float32 co-moment: a v1 addition (docs/wire-format.md). */
class Float32MomentWireTest {

  private static SnapshotRecord moment(int d) {
    double[] mean = new double[d];
    float[] upper = new float[d * (d + 1) / 2];
    for (int k = 0; k < d; k++) {
      mean[k] = 1e6 + Math.cos(k) / 3;
    }
    for (int i = 0; i < upper.length; i++) {
      upper[i] = (float) Math.sin(i + 1) * 7 + 1e-30f * i;
    }
    return new SnapshotRecord(
        Forge.metadata("r1", "l12"), new Float32MomentSnapshot(4000, mean, upper, 2));
  }

  @Test
  void aFloat32CoMomentTravelsBitForBitInOneValueOrInChunks() throws WireFormatException {
    SnapshotRecord small = moment(5);
    byte[] one = Forge.single(small);
    // 84 + 2 + 3 ("r1", "l12") + 8·d (mean) + 4·d(d+1)/2 (triangle), plus the frame.
    assertThat(one.length).isEqualTo(WireLayout.FRAME_OVERHEAD + 84 + 2 + 3 + 8 * 5 + 4 * 15);
    ByteBuffer body = ByteBuffer.wrap(Forge.body(one)).order(ByteOrder.LITTLE_ENDIAN);
    assertThat(body.get(WireLayout.B_KIND)).isEqualTo((byte) 4);
    assertThat(body.getInt(WireLayout.B_ELL)).isZero();
    assertThat(body.getInt(WireLayout.B_ROW_COUNT)).isZero();
    assertThat(SnapshotCodec.decode(one, DecodeLimits.defaults()).whole()).contains(small);

    SnapshotRecord big = moment(200);
    List<byte[]> frames = SnapshotCodec.encode(big, 4096);
    assertThat(frames.size()).isGreaterThan(10);
    ChunkAssembler assembler = ChunkAssembler.withDefaults();
    List<SnapshotRecord> done = new ArrayList<>();
    for (byte[] f : frames) {
      assembler.accept(SnapshotCodec.decode(f, DecodeLimits.defaults()), 0).ifPresent(done::add);
    }
    assertThat(done).containsExactly(big);
  }

  @Test
  void theGoldenFloat32CoMomentDecodesToItsValuesAndIsWrittenBitForBit() throws Exception {
    // Written by make_golden.py from docs/wire-format.md (Python struct, no Java).
    byte[] golden;
    try (var in = Float32MomentWireTest.class.getResourceAsStream("/golden/v1/exact32_d3.bin")) {
      golden = in.readAllBytes();
    }
    SnapshotRecord r = SnapshotCodec.decode(golden, DecodeLimits.defaults()).whole().orElseThrow();
    assertThat(r.metadata())
        .isEqualTo(
            new SnapshotMetadata(
                "r32", Stage.PRETRAIN, 5, 8, "model.norm", 900, 9, 1 << 21, 1_764_460_803_000L, 0));
    Float32MomentSnapshot s = (Float32MomentSnapshot) r.snapshot();
    assertThat(s.count()).isEqualTo(6);
    assertThat(s.nonFiniteRows()).isEqualTo(3);
    assertThat(s.mean()).containsExactly(-0.5, 2.25, 100.0);
    assertThat(s.upper()).containsExactly(6.5f, -1.25f, 0.375f, 2.0f, 0.0f, 12.75f);
    assertThat(s.widened().comoment())
        .containsExactly(6.5, -1.25, 0.375, -1.25, 2.0, 0.0, 0.375, 0.0, 12.75);
    assertThat(SnapshotCodec.encode(r, SnapshotCodec.DEFAULT_MAX_RECORD_BYTES))
        .singleElement()
        .isEqualTo(golden);
  }

  @Test
  void decodeRejectsBadFieldsOfAFloat32CoMomentByName() {
    byte[] frame = Forge.single(moment(5));
    int payload = 84 + 2 + 3;
    expectRejected(
        Forge.editBody(frame, b -> b.putInt(WireLayout.B_ELL, 2)), RejectReason.BAD_FIELD, "ell");
    expectRejected(
        Forge.editBody(frame, b -> b.putInt(WireLayout.B_ROW_COUNT, 1)),
        RejectReason.BAD_FIELD,
        "ell");
    expectRejected(
        Forge.editBody(frame, b -> b.putDouble(payload + 8, Double.NaN)),
        RejectReason.BAD_FIELD,
        "mean");
    expectRejected(
        Forge.editBody(frame, b -> b.putFloat(payload + 40 + 4 * 7, Float.POSITIVE_INFINITY)),
        RejectReason.BAD_FIELD,
        "comoment");
    expectRejected(
        Forge.editBody(frame, b -> b.putLong(WireLayout.B_COUNT, -1)),
        RejectReason.BAD_FIELD,
        "count");
    // A dimension that does not match the payload: one more column needs 8 + 4·6 more bytes.
    expectRejected(
        Forge.editBody(frame, b -> b.putInt(WireLayout.B_DIMENSION, 6)),
        RejectReason.TRUNCATED,
        "body");
    expectRejected(
        Forge.editBody(frame, b -> b.putInt(WireLayout.B_DIMENSION, 4)),
        RejectReason.BAD_FIELD,
        "body");
  }

  @Test
  void decodeRejectsAFloat32CoMomentWiderThanTheLimit() {
    byte[] frame = Forge.single(moment(5));
    DecodeLimits narrow = new DecodeLimits(4, 16, 256, 16, 1 << 20, 1 << 20);
    assertThatThrownBy(() -> SnapshotCodec.decode(frame, narrow))
        .isInstanceOfSatisfying(
            WireFormatException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(RejectReason.TOO_LARGE);
              assertThat(e.field()).isEqualTo("dimension");
            });
  }

  private static void expectRejected(byte[] frame, RejectReason reason, String field) {
    assertThatThrownBy(() -> SnapshotCodec.decode(frame, DecodeLimits.defaults()))
        .isInstanceOfSatisfying(
            WireFormatException.class,
            e -> {
              assertThat(e.reason()).as(e.getMessage()).isEqualTo(reason);
              assertThat(e.field()).as(e.getMessage()).isEqualTo(field);
            });
  }
}
