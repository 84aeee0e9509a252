package io.phasewatch.core.wire;

import static io.phasewatch.core.wire.SnapshotCodec.context;
import static io.phasewatch.core.wire.SnapshotCodec.hexId;
import static io.phasewatch.core.wire.SnapshotCodec.reject;
import static io.phasewatch.core.wire.WireBytes.u32;
import static io.phasewatch.core.wire.WireLayout.*;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;

/**
 * Bodies as frames and back: a body cut into chunks of at most a record's size, each a frame with
 * its header and CRC32C ({@link WireLayout}); a record value checked field by field before anything
 * is allocated. The body inside is {@link SnapshotBody}'s; reassembly of several chunks is {@link
 * ChunkAssembler}'s.
 */
final class Frames {

  private Frames() {}

  /**
   * The frames of {@code body}, each at most {@code chunkBytes}; {@code chunkBytes} is already
   * checked against the record limit.
   */
  static List<byte[]> encode(
      byte[] body, int chunkBytes, DecodeLimits limits, SnapshotMetadata metadata) {
    int capacity = chunkBytes - FRAME_OVERHEAD;
    int chunkCount = (int) ((body.length + (long) capacity - 1) / capacity);
    if (chunkCount > limits.maxChunksPerSnapshot()) {
      throw new IllegalArgumentException(
          "snapshot v1: "
              + chunkCount
              + " chunks of "
              + chunkBytes
              + " bytes exceed limit "
              + limits.maxChunksPerSnapshot()
              + context(metadata.runId(), metadata.layer()));
    }
    int bodyCrc = WireBytes.crc32c(body, 0, body.length);
    CRC32 crc32 = new CRC32();
    crc32.update(body, 0, body.length);
    // A content hash: equal snapshots get equal ids, so a re-sent snapshot assembles as one.
    long snapshotId = ((long) bodyCrc << 32) | crc32.getValue();
    List<byte[]> frames = new ArrayList<>(chunkCount);
    for (int i = 0; i < chunkCount; i++) {
      int offset = i * capacity;
      int length = Math.min(capacity, body.length - offset);
      ByteBuffer f = WireBytes.allocate(FRAME_OVERHEAD + length);
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
      f.putInt(F_PAYLOAD + length, WireBytes.crc32c(frame, 0, F_PAYLOAD + length));
      frames.add(frame);
    }
    return List.copyOf(frames);
  }

  /** One record value as a chunk; a single-chunk snapshot decoded whole. */
  static DecodedChunk decode(byte[] value, DecodeLimits limits) throws WireFormatException {
    if (value == null) {
      throw reject(RejectReason.TRUNCATED, "value", "snapshot: empty record value");
    }
    ByteBuffer f = WireBytes.wrap(value);
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
    int actual = WireBytes.crc32c(value, 0, crcAt);
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
      whole = SnapshotBody.decode(payload, bodyCrc, limits);
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

  private static void requirePositive(long v, String field, String sid) throws WireFormatException {
    if (v == 0) {
      throw reject(RejectReason.BAD_FIELD, field, "snapshot v1: " + field + " 0 must be ≥ 1" + sid);
    }
  }
}
