package io.phasewatch.core.wire;

import io.phasewatch.core.sketch.CovarianceSnapshot;
import io.phasewatch.core.sketch.ExactSnapshot;
import io.phasewatch.core.sketch.FdSnapshot;
import io.phasewatch.core.sketch.RowSampleSnapshot;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;

/**
 * Wire format v1: the one class that knows the byte layout. docs/wire-format.md mirrors the offset
 * constants below; change both together, and never change v1 itself (golden files pin it).
 *
 * <p>A snapshot is serialised into a <em>body</em> (kind, metadata, float64 payload). The body is
 * cut into one or more <em>chunks</em>; each chunk travels as one Kafka record value, a
 * <em>frame</em>: header, payload slice, CRC32C over everything before it. Every multi-byte field
 * is little-endian, whatever the platform.
 */
public final class SnapshotCodec {

  public static final String CONTENT_TYPE = "application/vnd.phasewatch.snapshot.v1";
  public static final String CONTENT_TYPE_HEADER = "content-type";

  /** Below Kafka's default {@code max.message.bytes} of 1 MB, with room for key and headers. */
  public static final int DEFAULT_MAX_RECORD_BYTES = 900_000;

  public static final String DEFAULT_TOPIC = "phasewatch.sketches";

  /** Smallest record value the encoder accepts as a maximum: the frame overhead plus 20 bytes. */
  public static final int MIN_RECORD_BYTES = 64;

  /** The bytes {@code 'P' 'W' 'S' 'K'} read as a little-endian u32. */
  static final int MAGIC = 0x4B535750;

  static final int FORMAT_VERSION = 1;

  // ---- Frame: one Kafka record value -------------------------------------------------------
  static final int F_MAGIC = 0; // u32
  static final int F_VERSION = 4; // u16
  static final int F_RESERVED = 6; // u16, zero in v1
  static final int F_SNAPSHOT_ID = 8; // u64
  static final int F_BODY_LENGTH = 16; // u32
  static final int F_BODY_CRC = 20; // u32, CRC32C of the whole body
  static final int F_CHUNK_INDEX = 24; // u32
  static final int F_CHUNK_COUNT = 28; // u32
  static final int F_CHUNK_OFFSET = 32; // u32
  static final int F_PAYLOAD_LENGTH = 36; // u32
  static final int F_PAYLOAD = 40; // payloadLength bytes, then u32 CRC32C of [0, 40 + length)
  static final int FRAME_OVERHEAD = F_PAYLOAD + 4;

  // ---- Body: the snapshot, possibly spread over several frames ------------------------------
  static final int B_KIND = 0; // u8
  static final int B_STAGE = 1; // u8
  static final int B_FLAGS = 2; // u16, bit 0: FLAG_SCALARS, no other bit defined in v1
  static final int B_DIMENSION = 4; // u32 d
  static final int B_ELL = 8; // u32 ℓ (0 for exact)
  static final int B_ROW_COUNT = 12; // u32 rows of B (0 for exact)
  static final int B_RANK = 16; // u32
  static final int B_WORLD_SIZE = 20; // u32
  static final int B_STEP = 24; // i64
  static final int B_WINDOW_ID = 32; // i64
  static final int B_TOKENS_SEEN = 40; // i64
  static final int B_CAPTURE_TIME = 48; // i64 epoch millis
  static final int B_SAMPLES_DROPPED = 56; // i64
  static final int B_COUNT = 64; // i64 n
  static final int B_NON_FINITE_ROWS = 72; // i64
  static final int B_STRINGS = 80; // run id (u16 length + UTF-8), layer (same), then payload
  static final int FIXED_BODY = B_STRINGS;

  /** Flag bit: a scalars section ({@link ScalarsSection}) follows the payload. */
  static final int FLAG_SCALARS = 0x0001;

  static final int KIND_EXACT = 1;
  static final int KIND_FD = 2;

  /**
   * A v1 addition: the sampled rows themselves, float32 (an older v1 decoder rejects the kind as
   * {@code bad_field}). {@code ell} is the sampler's capacity, {@code rowCount} the rows held and
   * equal to {@code count}; the payload is {@code seenRows} (i64), then the rows.
   */
  static final int KIND_SAMPLE = 3;

  /** Stage codes on the wire, independent of the enum's declaration order. */
  private static final Stage[] STAGE_BY_CODE = {
    Stage.PRETRAIN, Stage.SFT, Stage.DPO, Stage.RLVR, Stage.OTHER
  };

  private SnapshotCodec() {}

  // ==== Encoding ==============================================================================

  /**
   * Encodes a snapshot into record values of at most {@code maxRecordBytes} each; one value when it
   * fits, otherwise chunks to be sent in order under the same key. Encoding is deterministic.
   *
   * @throws IllegalArgumentException when the record could not be decoded by a decoder with {@link
   *     DecodeLimits#defaults()} (a limit, a non-finite value, a non-UTF-16-clean string), or when
   *     {@code maxRecordBytes} is outside [{@value #MIN_RECORD_BYTES}, default limit]
   */
  public static List<byte[]> encode(SnapshotRecord record, int maxRecordBytes) {
    DecodeLimits limits = DecodeLimits.defaults();
    if (maxRecordBytes < MIN_RECORD_BYTES || maxRecordBytes > limits.maxRecordBytes()) {
      throw new IllegalArgumentException(
          "snapshot v1: maxRecordBytes "
              + maxRecordBytes
              + " outside "
              + MIN_RECORD_BYTES
              + ".."
              + limits.maxRecordBytes());
    }
    byte[] body = encodeBody(record, limits);
    int capacity = maxRecordBytes - FRAME_OVERHEAD;
    int chunkCount = (int) ((body.length + (long) capacity - 1) / capacity);
    if (chunkCount > limits.maxChunksPerSnapshot()) {
      throw new IllegalArgumentException(
          "snapshot v1: "
              + chunkCount
              + " chunks of "
              + maxRecordBytes
              + " bytes exceed limit "
              + limits.maxChunksPerSnapshot()
              + context(record.metadata().runId(), record.metadata().layer()));
    }
    int bodyCrc = crc32c(body, 0, body.length);
    CRC32 crc32 = new CRC32();
    crc32.update(body, 0, body.length);
    // A content hash: equal snapshots get equal ids, so a re-sent snapshot assembles as one.
    long snapshotId = ((long) bodyCrc << 32) | crc32.getValue();
    List<byte[]> frames = new ArrayList<>(chunkCount);
    for (int i = 0; i < chunkCount; i++) {
      int offset = i * capacity;
      int length = Math.min(capacity, body.length - offset);
      ByteBuffer f = ByteBuffer.allocate(FRAME_OVERHEAD + length).order(ByteOrder.LITTLE_ENDIAN);
      f.putInt(F_MAGIC, MAGIC);
      f.putShort(F_VERSION, (short) FORMAT_VERSION);
      f.putShort(F_RESERVED, (short) 0);
      f.putLong(F_SNAPSHOT_ID, snapshotId);
      f.putInt(F_BODY_LENGTH, body.length);
      f.putInt(F_BODY_CRC, bodyCrc);
      f.putInt(F_CHUNK_INDEX, i);
      f.putInt(F_CHUNK_COUNT, chunkCount);
      f.putInt(F_CHUNK_OFFSET, offset);
      f.putInt(F_PAYLOAD_LENGTH, length);
      f.put(F_PAYLOAD, body, offset, length);
      byte[] frame = f.array();
      f.putInt(F_PAYLOAD + length, crc32c(frame, 0, F_PAYLOAD + length));
      frames.add(frame);
    }
    return List.copyOf(frames);
  }

  private static byte[] encodeBody(SnapshotRecord record, DecodeLimits limits) {
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
    ByteBuffer b = ByteBuffer.allocate((int) length).order(ByteOrder.LITTLE_ENDIAN);
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

  private static long bodyLength(int kind, long d, long rowCount, int runBytes, int layerBytes) {
    long strings = 2L + runBytes + 2L + layerBytes;
    if (kind == KIND_SAMPLE) {
      return FIXED_BODY + strings + 8 + 4 * rowCount * d;
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

  private static int stageCode(Stage stage) {
    for (int i = 0; i < STAGE_BY_CODE.length; i++) {
      if (STAGE_BY_CODE[i] == stage) {
        return i;
      }
    }
    throw new IllegalStateException("stage without wire code: " + stage);
  }

  // ==== Decoding ==============================================================================

  /**
   * Checks one record value and returns it as a chunk; a value that holds a whole snapshot is
   * decoded completely ({@link DecodedChunk#whole()}). Every size is checked against {@code limits}
   * and against the bytes actually present before anything is allocated.
   */
  public static DecodedChunk decode(byte[] value, DecodeLimits limits) throws WireFormatException {
    if (value == null) {
      throw reject(RejectReason.TRUNCATED, "value", "snapshot: empty record value");
    }
    ByteBuffer f = ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN);
    if (value.length < F_VERSION + 2) {
      throw reject(
          RejectReason.TRUNCATED,
          "value",
          "snapshot: record value of " + value.length + " bytes is shorter than magic and version");
    }
    if (f.getInt(F_MAGIC) != MAGIC) {
      throw reject(
          RejectReason.BAD_MAGIC,
          "magic",
          String.format("snapshot: magic 0x%08x is not 0x%08x ('PWSK')", f.getInt(F_MAGIC), MAGIC));
    }
    int version = Short.toUnsignedInt(f.getShort(F_VERSION));
    if (version != FORMAT_VERSION) {
      throw reject(
          RejectReason.BAD_VERSION,
          "version",
          "snapshot: format version "
              + version
              + (version > FORMAT_VERSION ? " is newer than" : " is not read by")
              + " this decoder (reads "
              + FORMAT_VERSION
              + ")");
    }
    if (value.length > limits.maxRecordBytes()) {
      throw reject(
          RejectReason.TOO_LARGE,
          "value",
          "snapshot v1: record value of "
              + value.length
              + " bytes exceeds limit "
              + limits.maxRecordBytes());
    }
    if (value.length < FRAME_OVERHEAD) {
      throw reject(
          RejectReason.TRUNCATED,
          "value",
          "snapshot v1: record value of "
              + value.length
              + " bytes is shorter than the "
              + FRAME_OVERHEAD
              + "-byte frame");
    }
    long payloadLength = u32(f, F_PAYLOAD_LENGTH);
    long expected = FRAME_OVERHEAD + payloadLength;
    if (expected > value.length) {
      throw reject(
          RejectReason.TRUNCATED,
          "payloadLength",
          "snapshot v1: payload length "
              + payloadLength
              + " needs "
              + expected
              + " bytes, record value has "
              + value.length);
    }
    if (expected < value.length) {
      throw reject(
          RejectReason.BAD_FIELD,
          "payloadLength",
          "snapshot v1: "
              + (value.length - expected)
              + " trailing bytes after the frame of payload length "
              + payloadLength);
    }
    int crcAt = (int) (F_PAYLOAD + payloadLength);
    int stored = f.getInt(crcAt);
    int actual = crc32c(value, 0, crcAt);
    if (stored != actual) {
      throw reject(
          RejectReason.BAD_CRC,
          "crc",
          String.format("snapshot v1: frame CRC32C 0x%08x, computed 0x%08x", stored, actual));
    }
    if (f.getShort(F_RESERVED) != 0) {
      throw reject(RejectReason.BAD_FIELD, "reserved", "snapshot v1: reserved frame bits set");
    }
    long snapshotId = f.getLong(F_SNAPSHOT_ID);
    String sid = " (snapshot=" + hexId(snapshotId) + ")";
    long bodyLength = u32(f, F_BODY_LENGTH);
    long index = u32(f, F_CHUNK_INDEX);
    long count = u32(f, F_CHUNK_COUNT);
    long offset = u32(f, F_CHUNK_OFFSET);
    requirePositive(bodyLength, "bodyLength", sid);
    requirePositive(payloadLength, "payloadLength", sid);
    requirePositive(count, "chunkCount", sid);
    if (bodyLength > limits.maxSnapshotBytes()) {
      throw reject(
          RejectReason.TOO_LARGE,
          "bodyLength",
          "snapshot v1: body length "
              + bodyLength
              + " exceeds limit "
              + limits.maxSnapshotBytes()
              + sid);
    }
    if (count > limits.maxChunksPerSnapshot()) {
      throw reject(
          RejectReason.TOO_LARGE,
          "chunkCount",
          "snapshot v1: chunk count "
              + count
              + " exceeds limit "
              + limits.maxChunksPerSnapshot()
              + sid);
    }
    if (index >= count) {
      throw reject(
          RejectReason.BAD_FIELD,
          "chunkIndex",
          "snapshot v1: chunk index " + index + " not below chunk count " + count + sid);
    }
    if (offset + payloadLength > bodyLength) {
      throw reject(
          RejectReason.BAD_FIELD,
          "chunkOffset",
          "snapshot v1: chunk at offset "
              + offset
              + " of length "
              + payloadLength
              + " runs past body length "
              + bodyLength
              + sid);
    }
    if (count == 1 && (offset != 0 || payloadLength != bodyLength)) {
      throw reject(
          RejectReason.BAD_FIELD,
          "chunkOffset",
          "snapshot v1: single chunk covers ["
              + offset
              + ", "
              + (offset + payloadLength)
              + ") of a "
              + bodyLength
              + "-byte body"
              + sid);
    }
    byte[] payload = new byte[(int) payloadLength];
    System.arraycopy(value, F_PAYLOAD, payload, 0, payload.length);
    int bodyCrc = f.getInt(F_BODY_CRC);
    SnapshotRecord whole = null;
    if (count == 1) {
      whole = decodeBody(payload, bodyCrc, limits);
    }
    return new DecodedChunk(
        snapshotId,
        (int) bodyLength,
        bodyCrc,
        (int) index,
        (int) count,
        (int) offset,
        payload,
        whole);
  }

  /** Decodes an assembled body; checks its CRC32C first. Used for single chunks and assemblies. */
  static SnapshotRecord decodeBody(byte[] body, int expectedCrc, DecodeLimits limits)
      throws WireFormatException {
    int actualCrc = crc32c(body, 0, body.length);
    if (actualCrc != expectedCrc) {
      throw reject(
          RejectReason.BAD_CRC,
          "bodyCrc",
          String.format(
              "snapshot v1: body CRC32C 0x%08x, computed 0x%08x", expectedCrc, actualCrc));
    }
    ByteBuffer b = ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN);
    if (body.length < FIXED_BODY + 4) {
      throw reject(
          RejectReason.TRUNCATED,
          "body",
          "snapshot v1: body of " + body.length + " bytes is shorter than its fixed part");
    }
    int kind = Byte.toUnsignedInt(b.get(B_KIND));
    if (kind != KIND_EXACT && kind != KIND_FD && kind != KIND_SAMPLE) {
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
    if (kind == KIND_EXACT && (ell != 0 || rowCount != 0)) {
      throw reject(
          RejectReason.BAD_FIELD,
          "ell",
          "snapshot v1: exact summary with ell " + ell + " and rowCount " + rowCount + ctx);
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
              + (kind != KIND_EXACT ? ", rowCount " + rowCount : "")
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
        double[] rows = readFinite(b, (int) rowCount * dim, "rows", ctx);
        snapshot = new FdSnapshot((int) ell, count, mean, rows, sumOfSquares, shrinkage, nonFinite);
      } else if (kind == KIND_SAMPLE) {
        snapshot = decodeSample(b, ell, rowCount, dim, count, nonFinite, ctx);
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

  private static void requirePositive(long v, String field, String sid) throws WireFormatException {
    if (v == 0) {
      throw reject(RejectReason.BAD_FIELD, field, "snapshot v1: " + field + " 0 must be ≥ 1" + sid);
    }
  }

  // ==== Shared helpers ========================================================================

  private static long u32(ByteBuffer b, int at) {
    return Integer.toUnsignedLong(b.getInt(at));
  }

  static int crc32c(byte[] bytes, int from, int length) {
    return WireBytes.crc32c(bytes, from, length);
  }

  static String hexId(long snapshotId) {
    return String.format("%016x", snapshotId);
  }

  private static String context(String runId, String layer) {
    return " (run=" + runId + ", layer=" + layer + ")";
  }

  static WireFormatException reject(RejectReason reason, String field, String message) {
    return new WireFormatException(reason, field, message);
  }
}
