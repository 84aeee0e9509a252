package io.phasewatch.core.wire;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.TreeMap;

/**
 * The optional scalars section of a v1 body (flag bit {@link SnapshotCodec#FLAG_SCALARS}): it
 * follows the payload and ends the body. docs/wire-format.md, "Scalars section", mirrors it.
 *
 * <pre>
 * u16 count                     1 … 32
 * count × { u16 nameLength      1 … 64
 *           nameLength bytes    ASCII [a-z][a-z0-9_.]*, strictly ascending (byte order)
 *           u32 weight          ≥ 1
 *           f64 value           finite }
 * </pre>
 */
final class ScalarsSection {

  /** A section with one one-character name. */
  static final int MIN_LENGTH = 2 + 2 + 1 + 4 + 8;

  private ScalarsSection() {}

  static int length(TrainingScalars scalars) {
    int n = 2;
    for (String name : scalars.values().keySet()) {
      n += 2 + name.length() + 4 + 8;
    }
    return n;
  }

  static void write(ByteBuffer b, TrainingScalars scalars) {
    b.putShort((short) scalars.values().size());
    for (var e : scalars.values().entrySet()) {
      byte[] name = e.getKey().getBytes(StandardCharsets.US_ASCII);
      b.putShort((short) name.length).put(name);
      b.putInt((int) e.getValue().weight());
      b.putDouble(e.getValue().value());
    }
  }

  /** Reads the section from {@code b}'s position; it must end exactly at {@code b}'s limit. */
  static TrainingScalars read(ByteBuffer b, String ctx) throws WireFormatException {
    if (b.remaining() < 2) {
      throw truncated("count", b, ctx);
    }
    int count = Short.toUnsignedInt(b.getShort());
    if (count == 0) {
      throw SnapshotCodec.reject(
          RejectReason.BAD_FIELD,
          "scalars.count",
          "snapshot v1: scalars section flagged but holds 0 scalars" + ctx);
    }
    if (count > TrainingScalars.MAX_SCALARS) {
      throw SnapshotCodec.reject(
          RejectReason.TOO_LARGE,
          "scalars.count",
          "snapshot v1: " + count + " scalars exceed limit " + TrainingScalars.MAX_SCALARS + ctx);
    }
    var values = new TreeMap<String, TrainingScalars.Scalar>();
    String previous = null;
    for (int i = 0; i < count; i++) {
      if (b.remaining() < 2) {
        throw truncated("name", b, ctx);
      }
      int length = Short.toUnsignedInt(b.getShort());
      if (length > TrainingScalars.MAX_NAME_LENGTH) {
        throw SnapshotCodec.reject(
            RejectReason.TOO_LARGE,
            "scalars.name",
            "snapshot v1: scalar name of "
                + length
                + " bytes exceeds limit "
                + TrainingScalars.MAX_NAME_LENGTH
                + ctx);
      }
      if (b.remaining() < length + 4 + 8) {
        throw truncated("name", b, ctx);
      }
      byte[] bytes = new byte[length];
      b.get(bytes);
      // Names are ASCII by their syntax, so checking the ISO-8859-1 reading checks the bytes.
      String name = new String(bytes, StandardCharsets.ISO_8859_1);
      String problem = TrainingScalars.nameProblem(name);
      if (problem != null) {
        throw SnapshotCodec.reject(
            RejectReason.BAD_FIELD, "scalars.name", "snapshot v1: " + problem + ctx);
      }
      if (previous != null && previous.compareTo(name) >= 0) {
        throw SnapshotCodec.reject(
            RejectReason.BAD_FIELD,
            "scalars.name",
            "snapshot v1: scalar '"
                + name
                + "' after '"
                + previous
                + "': names must be unique and ascending"
                + ctx);
      }
      previous = name;
      long weight = Integer.toUnsignedLong(b.getInt());
      double value = b.getDouble();
      if (weight == 0) {
        throw SnapshotCodec.reject(
            RejectReason.BAD_FIELD,
            "scalars.weight",
            "snapshot v1: scalar '" + name + "' has weight 0, must be ≥ 1" + ctx);
      }
      if (!Double.isFinite(value)) {
        throw SnapshotCodec.reject(
            RejectReason.BAD_FIELD,
            "scalars.value",
            "snapshot v1: scalar '" + name + "' holds " + value + ctx);
      }
      values.put(name, new TrainingScalars.Scalar(weight, value));
    }
    if (b.hasRemaining()) {
      throw SnapshotCodec.reject(
          RejectReason.BAD_FIELD,
          "body",
          "snapshot v1: " + b.remaining() + " trailing bytes after the scalars section" + ctx);
    }
    return new TrainingScalars(values);
  }

  private static WireFormatException truncated(String field, ByteBuffer b, String ctx) {
    return SnapshotCodec.reject(
        RejectReason.TRUNCATED,
        "scalars." + field,
        "snapshot v1: body ends inside the scalars section ("
            + b.remaining()
            + " bytes left before "
            + field
            + ")"
            + ctx);
  }
}
