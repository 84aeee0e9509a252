package io.phasewatch.core.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.phasewatch.core.sketch.RowSampleSnapshot;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Kind 3, the row sample: a v1 addition (docs/wire-format.md). */
class RowSampleWireTest {

  private static SnapshotRecord sample(int capacity, int d, int n, long seen) {
    float[] rows = new float[n * d];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = (float) Math.sin(i + 1) * 3 - 1e-30f * i;
    }
    return new SnapshotRecord(
        Forge.metadata("r1", "l12"), new RowSampleSnapshot(capacity, d, rows, seen, 2));
  }

  @Test
  void aRowSampleTravelsBitForBitInOneValueOrInChunks() throws WireFormatException {
    SnapshotRecord small = sample(8, 5, 3, 40);
    byte[] one = Forge.single(small);
    // 84 + 2 + 2 ("r1", "l12": 2 and 3 bytes) + 8 (seenRows) + 4·n·d, plus the frame.
    assertThat(one.length).isEqualTo(WireLayout.FRAME_OVERHEAD + 84 + 2 + 3 + 8 + 4 * 15);
    ByteBuffer body = ByteBuffer.wrap(Forge.body(one)).order(ByteOrder.LITTLE_ENDIAN);
    assertThat(body.get(WireLayout.B_KIND)).isEqualTo((byte) 3);
    assertThat(body.getInt(WireLayout.B_ELL)).isEqualTo(8);
    assertThat(body.getInt(WireLayout.B_ROW_COUNT)).isEqualTo(3);
    assertThat(SnapshotCodec.decode(one, DecodeLimits.defaults()).whole()).contains(small);

    SnapshotRecord big = sample(300, 64, 200, 5000);
    List<byte[]> frames = SnapshotCodec.encode(big, 4096);
    assertThat(frames.size()).isGreaterThan(10);
    ChunkAssembler assembler = ChunkAssembler.withDefaults();
    List<SnapshotRecord> done = new ArrayList<>();
    for (byte[] f : frames) {
      Optional<SnapshotRecord> r =
          assembler.accept(SnapshotCodec.decode(f, DecodeLimits.defaults()), 0);
      r.ifPresent(done::add);
    }
    assertThat(done).containsExactly(big);
  }

  @Test
  void theGoldenRowSampleDecodesToItsValuesAndIsWrittenBitForBit() throws Exception {
    // Written by make_golden.py from docs/wire-format.md (Python struct, no Java).
    byte[] golden;
    try (var in = RowSampleWireTest.class.getResourceAsStream("/golden/v1/sample_c4_d3.bin")) {
      golden = in.readAllBytes();
    }
    SnapshotRecord r = SnapshotCodec.decode(golden, DecodeLimits.defaults()).whole().orElseThrow();
    assertThat(r.metadata())
        .isEqualTo(
            new SnapshotMetadata(
                "r9", Stage.DPO, 3, 8, "final_norm", 700, 7, 1 << 20, 1_764_460_802_000L, 1));
    RowSampleSnapshot s = (RowSampleSnapshot) r.snapshot();
    assertThat(s.capacity()).isEqualTo(4);
    assertThat(s.count()).isEqualTo(2);
    assertThat(s.seenRows()).isEqualTo(7);
    assertThat(s.nonFiniteRows()).isEqualTo(1);
    assertThat(s.rows()).containsExactly(1.5f, -2.0f, 0.25f, 3.0f, 0.0f, -0.125f);
    assertThat(SnapshotCodec.encode(r, SnapshotCodec.DEFAULT_MAX_RECORD_BYTES))
        .singleElement()
        .isEqualTo(golden);
  }

  @Test
  void decodeRejectsAnInconsistentRowSample() {
    byte[] frame = Forge.single(sample(8, 5, 3, 40));
    int payload = 84 + 2 + 3;
    expectBadField(Forge.editBody(frame, b -> b.putLong(WireLayout.B_COUNT, 2)), "count");
    expectBadField(Forge.editBody(frame, b -> b.putInt(WireLayout.B_ELL, 2)), "rowCount");
    expectBadField(Forge.editBody(frame, b -> b.putLong(payload, 2)), "seenRows");
    expectBadField(Forge.editBody(frame, b -> b.putFloat(payload + 8 + 4, Float.NaN)), "rows");
  }

  @Test
  void decodeRejectsARowSampleWhoseBytesDoNotMatchItsRows() {
    byte[] frame = Forge.single(sample(8, 5, 3, 40));
    byte[] grown = Forge.editBody(frame, b -> b.putInt(WireLayout.B_ROW_COUNT, 4));
    grown = Forge.editBody(grown, b -> b.putLong(WireLayout.B_COUNT, 4));
    byte[] g = grown;
    assertThatThrownBy(() -> SnapshotCodec.decode(g, DecodeLimits.defaults()))
        .isInstanceOfSatisfying(
            WireFormatException.class,
            e -> assertThat(e.reason()).isEqualTo(RejectReason.TRUNCATED));
  }

  private static void expectBadField(byte[] frame, String field) {
    assertThatThrownBy(() -> SnapshotCodec.decode(frame, DecodeLimits.defaults()))
        .isInstanceOfSatisfying(
            WireFormatException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(RejectReason.BAD_FIELD);
              assertThat(e.field()).isEqualTo(field);
            });
  }
}
