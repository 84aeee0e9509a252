package io.phasewatch.core.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Bad scalars sections are rejected with the reason and field docs/wire-format.md names. The
 * sections are written by hand here, byte by byte, behind a valid FD body.
 */
class ScalarsSectionRejectionTest {

  /** An FD body with the scalars flag set and {@code section} appended, both CRCs sealed. */
  private static byte[] withSection(byte[] section) {
    byte[] plain = Forge.body(Forge.single(Forge.fd(4, 3, 2)));
    ByteBuffer b =
        ByteBuffer.allocate(plain.length + section.length).order(ByteOrder.LITTLE_ENDIAN);
    b.put(plain).put(section);
    b.putShort(WireLayout.B_FLAGS, (short) WireLayout.FLAG_SCALARS);
    return Forge.frame(b.array());
  }

  /** A section of the given (name, weight, value) entries in the given order, count as given. */
  private static byte[] section(int count, Object[]... entries) {
    ByteBuffer b = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
    b.putShort((short) count);
    for (Object[] e : entries) {
      byte[] name = ((String) e[0]).getBytes(StandardCharsets.UTF_8);
      b.putShort((short) name.length).put(name);
      b.putInt((int) (long) (Long) e[1]);
      b.putDouble((Double) e[2]);
    }
    byte[] out = new byte[b.position()];
    b.flip().get(out);
    return out;
  }

  private static Object[] entry(String name, long weight, double value) {
    return new Object[] {name, weight, value};
  }

  private static void rejected(byte[] value, RejectReason reason, String field, String message) {
    assertThatThrownBy(() -> SnapshotCodec.decode(value, DecodeLimits.defaults()))
        .isInstanceOfSatisfying(
            WireFormatException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(reason);
              assertThat(e.field()).isEqualTo(field);
            })
        .hasMessageContaining(message)
        .hasMessageContaining("(run=r1, layer=l12)");
  }

  @Test
  void aHandWrittenSectionDecodes() throws WireFormatException {
    SnapshotRecord r =
        SnapshotCodec.decode(
                withSection(section(2, entry("eval_loss", 1, 3.5), entry("loss", 7, 2.0))),
                DecodeLimits.defaults())
            .whole()
            .orElseThrow();
    assertThat(r.scalars().value("loss")).hasValue(2.0);
    assertThat(r.scalars().values().get("loss").weight()).isEqualTo(7);
    assertThat(r.scalars().value("eval_loss")).hasValue(3.5);
  }

  @Test
  void decodeRejectsAFlaggedSectionOfZeroScalars() {
    rejected(
        withSection(section(0, entry("a", 1, 1.0))),
        RejectReason.BAD_FIELD,
        "scalars.count",
        "holds 0 scalars");
  }

  @Test
  void decodeRejectsMoreScalarsThanTheLimit() {
    Object[][] many = new Object[33][];
    for (int i = 0; i < many.length; i++) {
      many[i] = entry(String.format("s%02d", i), 1, i);
    }
    rejected(
        withSection(section(33, many)), RejectReason.TOO_LARGE, "scalars.count", "exceed limit 32");
  }

  @Test
  void decodeRejectsAFlagWithNoSection() {
    rejected(withSection(new byte[0]), RejectReason.TRUNCATED, "body", "and a scalars section");
  }

  @Test
  void decodeRejectsASectionCutShort() {
    byte[] full = section(1, entry("loss", 1, 1.0));
    byte[] cut = java.util.Arrays.copyOf(full, full.length - 1);
    rejected(withSection(cut), RejectReason.TRUNCATED, "scalars.name", "ends inside");
    rejected(
        withSection(section(2, entry("loss", 1, 1.0))),
        RejectReason.TRUNCATED,
        "scalars.name",
        "ends inside");
  }

  @Test
  void decodeRejectsTrailingBytesAfterTheSection() {
    byte[] s = section(1, entry("loss", 1, 1.0));
    byte[] longer = java.util.Arrays.copyOf(s, s.length + 3);
    rejected(withSection(longer), RejectReason.BAD_FIELD, "body", "3 trailing bytes");
  }

  @Test
  void decodeRejectsNamesOutsideTheSyntax() {
    Map<String, String> bad = new LinkedHashMap<>();
    bad.put("", "empty");
    bad.put("Loss", "not [a-z][a-z0-9_.]*");
    bad.put("1loss", "not [a-z][a-z0-9_.]*");
    bad.put("eval loss", "not [a-z][a-z0-9_.]*");
    bad.put("é", "not [a-z][a-z0-9_.]*");
    for (var e : bad.entrySet()) {
      // A second, valid entry keeps the section above its minimum length for the empty name.
      rejected(
          withSection(section(2, entry(e.getKey(), 1, 1.0), entry("z", 1, 1.0))),
          RejectReason.BAD_FIELD,
          "scalars.name",
          e.getValue());
    }
    rejected(
        withSection(section(1, entry("a".repeat(65), 1, 1.0))),
        RejectReason.TOO_LARGE,
        "scalars.name",
        "65 bytes exceeds limit 64");
  }

  @Test
  void decodeRejectsDuplicateOrUnsortedNames() {
    rejected(
        withSection(section(2, entry("loss", 1, 1.0), entry("loss", 1, 2.0))),
        RejectReason.BAD_FIELD,
        "scalars.name",
        "unique and ascending");
    rejected(
        withSection(section(2, entry("loss", 1, 1.0), entry("eval_loss", 1, 2.0))),
        RejectReason.BAD_FIELD,
        "scalars.name",
        "unique and ascending");
  }

  @Test
  void decodeRejectsZeroWeightAndNonFiniteValues() {
    rejected(
        withSection(section(1, entry("loss", 0, 1.0))),
        RejectReason.BAD_FIELD,
        "scalars.weight",
        "weight 0");
    for (double v : new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
      rejected(
          withSection(section(1, entry("loss", 1, v))),
          RejectReason.BAD_FIELD,
          "scalars.value",
          "holds " + v);
    }
  }

  @Test
  void decodeStillRejectsFlagBitsOtherThanScalars() {
    byte[] value =
        Forge.editBody(
            Forge.single(Forge.fd(4, 3, 2)), b -> b.putShort(WireLayout.B_FLAGS, (short) 0x0002));
    assertThatThrownBy(() -> SnapshotCodec.decode(value, DecodeLimits.defaults()))
        .isInstanceOfSatisfying(
            WireFormatException.class, e -> assertThat(e.field()).isEqualTo("flags"))
        .hasMessageContaining("unknown flag bits 0x0002");
  }

  @Test
  void scalarsTheDecoderWouldRejectCannotBeBuilt() {
    assertThatThrownBy(() -> new TrainingScalars(Map.of("Loss", new TrainingScalars.Scalar(1, 1))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'Loss'");
    assertThatThrownBy(() -> new TrainingScalars.Scalar(1, Double.NaN))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new TrainingScalars.Scalar(0, 1))
        .isInstanceOf(IllegalArgumentException.class);
    Map<String, TrainingScalars.Scalar> many = new LinkedHashMap<>();
    for (int i = 0; i < 33; i++) {
      many.put("s" + i, new TrainingScalars.Scalar(1, i));
    }
    assertThatThrownBy(() -> new TrainingScalars(many))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("33 names exceed limit 32");
  }

  @Test
  void mergeIsTheWeightWeightedMeanWithWeightsAdded() {
    var a =
        new TrainingScalars(
            Map.of(
                "loss", new TrainingScalars.Scalar(30, 2.0),
                "heldout.accuracy", new TrainingScalars.Scalar(1, 0.5)));
    var b =
        new TrainingScalars(
            Map.of(
                "loss", new TrainingScalars.Scalar(10, 4.0),
                "eval_loss", new TrainingScalars.Scalar(1, 1.0)));
    TrainingScalars m = a.merge(b);
    // (30·2 + 10·4) / 40 = 2.5
    assertThat(m.values().get("loss")).isEqualTo(new TrainingScalars.Scalar(40, 2.5));
    assertThat(m.values().get("heldout.accuracy")).isEqualTo(new TrainingScalars.Scalar(1, 0.5));
    assertThat(m.values().get("eval_loss")).isEqualTo(new TrainingScalars.Scalar(1, 1.0));
    assertThat(b.merge(a)).isEqualTo(m);
  }
}
