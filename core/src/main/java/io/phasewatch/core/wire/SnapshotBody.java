package io.phasewatch.core.wire;

import static io.phasewatch.core.wire.SnapshotCodec.context;
import static io.phasewatch.core.wire.SnapshotCodec.reject;
import static io.phasewatch.core.wire.WireBytes.u32;
import static io.phasewatch.core.wire.WireLayout.*;

import io.phasewatch.core.sketch.CovarianceSnapshot;
import io.phasewatch.core.sketch.ExactSnapshot;
import io.phasewatch.core.sketch.FdSnapshot;
import io.phasewatch.core.sketch.Float32MomentSnapshot;
import io.phasewatch.core.sketch.RowSampleSnapshot;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * A snapshot record as a v1 body and back: kind, metadata, run and layer, the float64 (for the row
 * sample float32, for the float32 co-moment both) payload and the optional scalars section, at the
 * offsets of {@link WireLayout}. Framing and chunking are {@link Frames}'.
 */
final class SnapshotBody {

  private SnapshotBody() {}

  /** The body of {@code record}; refuses what a decoder with {@code limits} would refuse. */
  static byte[] encode(SnapshotRecord record, DecodeLimits limits) {
    SnapshotMetadata m = record.metadata();
    CovarianceSnapshot s = record.snapshot();
    String ctx = context(m.runId(), m.layer());
    byte[] run = utf8(m.runId(), "runId", limits);
    byte[] layer = utf8(m.layer(), "layer", limits);
    int d = s.dimension();
    if (d > limits.maxDimension()) {
      throw new IllegalArgumentException(
          "snapshot v1: dim " + d + " exceeds limit " + limits.maxDimension() + ctx);
    }
    int kind;
    int ell = 0;
    int rowCount = 0;
    if (s instanceof FdSnapshot fd) {
      kind = KIND_FD;
      ell = fd.ell();
      rowCount = fd.rowCount();
      if (ell > limits.maxEll()) {
        throw new IllegalArgumentException(
            "snapshot v1: ell " + ell + " exceeds limit " + limits.maxEll() + ctx);
      }
      requireFinite(fd.sumOfSquares(), "sumOfSquares", ctx);
      requireFinite(fd.shrinkage(), "shrinkage", ctx);
    } else if (s instanceof RowSampleSnapshot rs) {
      kind = KIND_SAMPLE;
      ell = rs.capacity();
      rowCount = (int) rs.count();
    } else if (s instanceof Float32MomentSnapshot) {
      kind = KIND_EXACT32;
    } else {
      kind = KIND_EXACT;
    }
    TrainingScalars scalars = record.scalars();
    long length =
        bodyLength(kind, d, rowCount, run.length, layer.length)
            + (scalars.isEmpty() ? 0 : ScalarsSection.length(scalars));
    if (length > limits.maxSnapshotBytes()) {
      throw new IllegalArgumentException(
          "snapshot v1: body of "
              + length
              + " bytes exceeds limit "
              + limits.maxSnapshotBytes()
              + ctx);
    }
    ByteBuffer b = WireBytes.allocate((int) length);
    b.put(B_KIND, (byte) kind);
    b.put(B_STAGE, (byte) stageCode(m.stage()));
    b.putShort(B_FLAGS, (short) (scalars.isEmpty() ? 0 : FLAG_SCALARS));
    b.putInt(B_DIMENSION, d);
    b.putInt(B_ELL, ell);
    b.putInt(B_ROW_COUNT, rowCount);
    b.putInt(B_RANK, m.rank());
    b.putInt(B_WORLD_SIZE, m.worldSize());
    b.putLong(B_STEP, m.step());
    b.putLong(B_WINDOW_ID, m.windowId());
    b.putLong(B_TOKENS_SEEN, m.tokensSeen());
    b.putLong(B_CAPTURE_TIME, m.captureTimeMillis());
    b.putLong(B_SAMPLES_DROPPED, m.samplesDropped());
    b.putLong(B_COUNT, s.count());
    b.putLong(B_NON_FINITE_ROWS, s.nonFiniteRows());
    b.position(B_STRINGS);
    b.putShort((short) run.length).put(run);
    b.putShort((short) layer.length).put(layer);
    if (s instanceof FdSnapshot fd) {
      b.putDouble(fd.sumOfSquares()).putDouble(fd.shrinkage());
      putFinite(b, fd.mean(), "mean", ctx);
      putFinite(b, fd.rows(), "rows", ctx);
    } else if (s instanceof RowSampleSnapshot rs) {
      b.putLong(rs.seenRows());
      for (float v : rs.rows()) { // finite: the record checks it
        b.putFloat(v);
      }
    } else if (s instanceof Float32MomentSnapshot f) {
      putFinite(b, f.mean(), "mean", ctx);
      for (float v : f.upper()) { // the packed upper triangle, finite: the record checks it
        b.putFloat(v);
      }
    } else {
      ExactSnapshot ex = (ExactSnapshot) s;
      putFinite(b, ex.mean(), "mean", ctx);
      double[] c = ex.comoment();
      // The co-moment is symmetric: send the upper triangle (i ≤ j) row by row; the decoder
      // mirrors it. Roughly halves the bytes of the one payload that grows with d².
      for (int i = 0; i < d; i++) {
        for (int j = i; j < d; j++) {
          double v = c[i * d + j];
          requireFinite(v, "comoment", ctx);
          b.putDouble(v);
        }
      }
    }
    if (!scalars.isEmpty()) {
      ScalarsSection.write(b, scalars);
    }
    return b.array();
  }

  static long bodyLength(int kind, long d, long rowCount, int runBytes, int layerBytes) {
    long strings = 2L + runBytes + 2L + layerBytes;
    if (kind == KIND_SAMPLE) {
      return FIXED_BODY + strings + 8 + 4 * rowCount * d;
    }
    if (kind == KIND_EXACT32) {
      return FIXED_BODY + strings + 8 * d + 4 * (d * (d + 1) / 2);
    }
    long doubles = kind == KIND_EXACT ? d + d * (d + 1) / 2 : 2 + d + rowCount * d;
    return FIXED_BODY + strings + 8 * doubles;
  }

  private static byte[] utf8(String s, String field, DecodeLimits limits) {
    byte[] bytes;
    try {
      ByteBuffer encoded =
          StandardCharsets.UTF_8
              .newEncoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .encode(CharBuffer.wrap(s));
      bytes = new byte[encoded.remaining()];
      encoded.get(bytes);
    } catch (CharacterCodingException e) {
      // An unpaired surrogate would be replaced by '?' and not survive the round trip.
      throw new IllegalArgumentException("snapshot v1: " + field + " is not valid Unicode", e);
    }
    if (bytes.length > limits.maxStringBytes()) {
      throw new IllegalArgumentException(
          "snapshot v1: "
              + field
              + " of "
              + bytes.length
              + " UTF-8 bytes exceeds limit "
              + limits.maxStringBytes());
    }
    return bytes;
  }

  private static void putFinite(ByteBuffer b, double[] values, String field, String ctx) {
    for (double v : values) {
      requireFinite(v, field, ctx);
      b.putDouble(v);
    }
  }

  private static void requireFinite(double v, String field, String ctx) {
    if (!Double.isFinite(v)) {
      throw new IllegalArgumentException(
          "snapshot v1: " + field + " holds non-finite value " + v + ctx);
    }
  }

  /** Decodes an assembled body; checks its CRC32C first. Used for single chunks and assemblies. */
  static SnapshotRecord decode(byte[] body, int expectedCrc, DecodeLimits limits)
      throws WireFormatException {
    int actualCrc = WireBytes.crc32c(body, 0, body.length);
    if (actualCrc != expectedCrc) {
      throw reject(
          RejectReason.BAD_CRC,
          "bodyCrc",
          String.format(
              "snapshot v1: body CRC32C 0x%08x, computed 0x%08x", expectedCrc, actualCrc));
    }
    ByteBuffer b = WireBytes.wrap(body);
    if (body.length < FIXED_BODY + 4) {
      throw reject(
          RejectReason.TRUNCATED,
          "body",
          "snapshot v1: body of " + body.length + " bytes is shorter than its fixed part");
    }
    int kind = Byte.toUnsignedInt(b.get(B_KIND));
    if (kind != KIND_EXACT && kind != KIND_FD && kind != KIND_SAMPLE && kind != KIND_EXACT32) {
      throw reject(RejectReason.BAD_FIELD, "kind", "snapshot v1: unknown sketch kind " + kind);
    }
    int stageCode = Byte.toUnsignedInt(b.get(B_STAGE));
    if (stageCode >= STAGE_BY_CODE.length) {
      throw reject(RejectReason.BAD_FIELD, "stage", "snapshot v1: unknown stage code " + stageCode);
    }
    int flags = Short.toUnsignedInt(b.getShort(B_FLAGS));
    if ((flags & ~FLAG_SCALARS) != 0) {
      throw reject(
          RejectReason.BAD_FIELD,
          "flags",
          String.format("snapshot v1: unknown flag bits 0x%04x", flags & ~FLAG_SCALARS));
    }
    boolean hasScalars = (flags & FLAG_SCALARS) != 0;
    b.position(B_STRINGS);
    String runId = readString(b, "runId", limits, "");
    String layer = readString(b, "layer", limits, " (run=" + runId + ")");
    String ctx = context(runId, layer);
    int stringsEnd = b.position();

    long d = u32(b, B_DIMENSION);
    long ell = u32(b, B_ELL);
    long rowCount = u32(b, B_ROW_COUNT);
    if (d == 0) {
      throw reject(RejectReason.BAD_FIELD, "dimension", "snapshot v1: dim 0 must be ≥ 1" + ctx);
    }
    if (d > limits.maxDimension()) {
      throw reject(
          RejectReason.TOO_LARGE,
          "dimension",
          "snapshot v1: dim " + d + " exceeds limit " + limits.maxDimension() + ctx);
    }
    if ((kind == KIND_EXACT || kind == KIND_EXACT32) && (ell != 0 || rowCount != 0)) {
      throw reject(
          RejectReason.BAD_FIELD,
          "ell",
          "snapshot v1: "
              + (kind == KIND_EXACT ? "exact summary" : "float32 co-moment")
              + " with ell "
              + ell
              + " and rowCount "
              + rowCount
              + ctx);
    }
    if (kind == KIND_FD) {
      if (ell == 0) {
        throw reject(RejectReason.BAD_FIELD, "ell", "snapshot v1: ell 0 must be ≥ 1" + ctx);
      }
      if (ell > limits.maxEll()) {
        throw reject(
            RejectReason.TOO_LARGE,
            "ell",
            "snapshot v1: ell " + ell + " exceeds limit " + limits.maxEll() + ctx);
      }
      if (rowCount > ell) {
        throw reject(
            RejectReason.BAD_FIELD,
            "rowCount",
            "snapshot v1: rowCount " + rowCount + " exceeds ell " + ell + ctx);
      }
    }
    if (kind == KIND_SAMPLE && (ell == 0 || rowCount > ell)) {
      throw reject(
          RejectReason.BAD_FIELD,
          "rowCount",
          "snapshot v1: row sample of capacity " + ell + " holds " + rowCount + " rows" + ctx);
    }
    long rank = u32(b, B_RANK);
    long worldSize = u32(b, B_WORLD_SIZE);
    if (worldSize == 0 || worldSize > Integer.MAX_VALUE || rank >= worldSize) {
      throw reject(
          RejectReason.BAD_FIELD,
          "rank",
          "snapshot v1: rank " + rank + " outside world size " + worldSize + ctx);
    }
    long step = nonNegative(b, B_STEP, "step", ctx);
    long windowId = nonNegative(b, B_WINDOW_ID, "windowId", ctx);
    long tokensSeen = nonNegative(b, B_TOKENS_SEEN, "tokensSeen", ctx);
    long captureTime = b.getLong(B_CAPTURE_TIME);
    long samplesDropped = nonNegative(b, B_SAMPLES_DROPPED, "samplesDropped", ctx);
    long count = nonNegative(b, B_COUNT, "count", ctx);
    long nonFinite = nonNegative(b, B_NON_FINITE_ROWS, "nonFiniteRows", ctx);

    // Size check against the bytes actually present, before any array is allocated.
    long expected =
        bodyLength(kind, d, rowCount, 0, 0)
            - FIXED_BODY
            - 4
            + stringsEnd
            + (hasScalars ? ScalarsSection.MIN_LENGTH : 0);
    if (expected > body.length) {
      throw reject(
          RejectReason.TRUNCATED,
          "body",
          "snapshot v1: dim "
              + d
              + (kind != KIND_EXACT && kind != KIND_EXACT32 ? ", rowCount " + rowCount : "")
              + (hasScalars ? " and a scalars section" : "")
              + " need a "
              + expected
              + "-byte body, got "
              + body.length
              + ctx);
    }
    if (expected < body.length && !hasScalars) {
      throw reject(
          RejectReason.BAD_FIELD,
          "body",
          "snapshot v1: " + (body.length - expected) + " trailing bytes after the payload" + ctx);
    }
    int dim = (int) d;
    CovarianceSnapshot snapshot;
    try {
      if (kind == KIND_FD) {
        double sumOfSquares = b.getDouble();
        double shrinkage = b.getDouble();
        requireFiniteNonNegative(sumOfSquares, "sumOfSquares", ctx);
        requireFiniteNonNegative(shrinkage, "shrinkage", ctx);
        double[] mean = readFinite(b, dim, "mean", ctx);
        requireNonNegativeTotalVariance(sumOfSquares, count, mean, ctx);
        double[] rows = readFinite(b, (int) rowCount * dim, "rows", ctx);
        snapshot = new FdSnapshot((int) ell, count, mean, rows, sumOfSquares, shrinkage, nonFinite);
      } else if (kind == KIND_SAMPLE) {
        snapshot = decodeSample(b, ell, rowCount, dim, count, nonFinite, ctx);
      } else if (kind == KIND_EXACT32) {
        double[] mean = readFinite(b, dim, "mean", ctx);
        float[] upper = new float[(int) ((long) dim * (dim + 1) / 2)];
        for (int i = 0; i < upper.length; i++) {
          float v = b.getFloat();
          if (!Float.isFinite(v)) {
            throw nonFinite("comoment", v, ctx);
          }
          upper[i] = v;
        }
        snapshot = new Float32MomentSnapshot(count, mean, upper, nonFinite);
      } else {
        double[] mean = readFinite(b, dim, "mean", ctx);
        double[] c = new double[dim * dim];
        for (int i = 0; i < dim; i++) {
          for (int j = i; j < dim; j++) {
            double v = b.getDouble();
            if (!Double.isFinite(v)) {
              throw nonFinite("comoment", v, ctx);
            }
            c[i * dim + j] = v;
            c[j * dim + i] = v;
          }
        }
        snapshot = new ExactSnapshot(count, mean, c, nonFinite);
      }
      TrainingScalars scalars = hasScalars ? ScalarsSection.read(b, ctx) : TrainingScalars.empty();
      SnapshotMetadata metadata =
          new SnapshotMetadata(
              runId,
              STAGE_BY_CODE[stageCode],
              (int) rank,
              (int) worldSize,
              layer,
              step,
              windowId,
              tokensSeen,
              captureTime,
              samplesDropped);
      return new SnapshotRecord(metadata, snapshot, scalars);
    } catch (IllegalArgumentException e) {
      // The checks above mirror the records' own; this only guards against them drifting apart.
      throw reject(RejectReason.BAD_FIELD, "snapshot", e.getMessage() + ctx);
    }
  }

  private static RowSampleSnapshot decodeSample(
      ByteBuffer b, long capacity, long rowCount, int d, long count, long nonFinite, String ctx)
      throws WireFormatException {
    if (count != rowCount) {
      throw reject(
          RejectReason.BAD_FIELD,
          "count",
          "snapshot v1: row sample count " + count + " differs from rowCount " + rowCount + ctx);
    }
    long seen = b.getLong();
    if (seen < rowCount) {
      throw reject(
          RejectReason.BAD_FIELD,
          "seenRows",
          "snapshot v1: seenRows " + seen + " below the " + rowCount + " rows held" + ctx);
    }
    float[] rows = new float[(int) rowCount * d];
    for (int i = 0; i < rows.length; i++) {
      float v = b.getFloat();
      if (!Float.isFinite(v)) {
        throw nonFinite("rows", v, ctx);
      }
      rows[i] = v;
    }
    return new RowSampleSnapshot((int) capacity, d, rows, seen, nonFinite);
  }

  private static String readString(ByteBuffer b, String field, DecodeLimits limits, String ctx)
      throws WireFormatException {
    if (b.remaining() < 2) {
      throw reject(RejectReason.TRUNCATED, field, "snapshot v1: body ends before " + field + ctx);
    }
    int length = Short.toUnsignedInt(b.getShort());
    if (length == 0) {
      throw reject(RejectReason.BAD_FIELD, field, "snapshot v1: " + field + " is empty" + ctx);
    }
    if (length > limits.maxStringBytes()) {
      throw reject(
          RejectReason.TOO_LARGE,
          field,
          "snapshot v1: "
              + field
              + " of "
              + length
              + " bytes exceeds limit "
              + limits.maxStringBytes()
              + ctx);
    }
    if (b.remaining() < length) {
      throw reject(
          RejectReason.TRUNCATED,
          field,
          "snapshot v1: "
              + field
              + " of "
              + length
              + " bytes, "
              + b.remaining()
              + " left in the body"
              + ctx);
    }
    ByteBuffer slice = b.slice(b.position(), length);
    b.position(b.position() + length);
    try {
      return WireBytes.strictUtf8(slice);
    } catch (CharacterCodingException e) {
      throw reject(
          RejectReason.BAD_FIELD, field, "snapshot v1: " + field + " is not valid UTF-8" + ctx);
    }
  }

  private static double[] readFinite(ByteBuffer b, int n, String field, String ctx)
      throws WireFormatException {
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      double v = b.getDouble();
      if (!Double.isFinite(v)) {
        throw nonFinite(field, v, ctx);
      }
      out[i] = v;
    }
    return out;
  }

  private static void requireFiniteNonNegative(double v, String field, String ctx)
      throws WireFormatException {
    if (!Double.isFinite(v) || v < 0) {
      throw reject(
          RejectReason.BAD_FIELD,
          field,
          "snapshot v1: " + field + " " + v + " must be finite and ≥ 0" + ctx);
    }
  }

  /**
   * Σ‖z‖² ≥ N‖μ‖²: their difference is (N − 1) times the total variance, which cannot be negative.
   * A relative slack of 1e-6 of N‖μ‖² lets through data of (nearly) zero spread whose two sums were
   * rounded apart.
   */
  private static void requireNonNegativeTotalVariance(
      double sumOfSquares, long count, double[] mean, String ctx) throws WireFormatException {
    double meanSquare = 0;
    for (double m : mean) {
      meanSquare += m * m;
    }
    double nMeanSquare = count * meanSquare;
    if (sumOfSquares < nMeanSquare * (1 - 1e-6)) {
      throw reject(
          RejectReason.BAD_FIELD,
          "sumOfSquares",
          "snapshot v1: sumOfSquares "
              + sumOfSquares
              + " < count·‖mean‖² "
              + nMeanSquare
              + ": negative total variance"
              + ctx);
    }
  }

  private static WireFormatException nonFinite(String field, double v, String ctx) {
    return reject(RejectReason.BAD_FIELD, field, "snapshot v1: " + field + " holds " + v + ctx);
  }

  private static long nonNegative(ByteBuffer b, int at, String field, String ctx)
      throws WireFormatException {
    long v = b.getLong(at);
    if (v < 0) {
      throw reject(
          RejectReason.BAD_FIELD, field, "snapshot v1: " + field + " " + v + " must be ≥ 0" + ctx);
    }
    return v;
  }
}
