package io.phasewatch.core.wire;

import java.util.List;

/**
 * Wire format v1, the public face: {@link #encode} and {@link #decode}. The layout is {@link
 * WireLayout}'s (mirrored by docs/wire-format.md), the frames, chunks and CRCs {@link Frames}', the
 * body {@link SnapshotBody}'s.
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

  private SnapshotCodec() {}

  /**
   * Encodes a snapshot into record values of at most {@code chunkBytes} each (the producer's chunk
   * size, the agent's {@code publish.max-record-bytes}; not the decoder's record limit {@link
   * DecodeLimits#maxRecordBytes}, which bounds it); one value when it fits, otherwise chunks to be
   * sent in order under the same key. Encoding is deterministic.
   *
   * @throws IllegalArgumentException when the record could not be decoded by a decoder with {@link
   *     DecodeLimits#defaults()} (a limit, a non-finite value, a non-UTF-16-clean string), or when
   *     {@code chunkBytes} is outside [{@value #MIN_RECORD_BYTES}, default record limit]
   */
  public static List<byte[]> encode(SnapshotRecord record, int chunkBytes) {
    DecodeLimits limits = DecodeLimits.defaults();
    if (chunkBytes < MIN_RECORD_BYTES || chunkBytes > limits.maxRecordBytes()) {
      throw new IllegalArgumentException(
          "snapshot v1: chunk size "
              + chunkBytes
              + " outside "
              + MIN_RECORD_BYTES
              + ".."
              + limits.maxRecordBytes()
              + " (the default record limit)");
    }
    return Frames.encode(
        SnapshotBody.encode(record, limits), chunkBytes, limits, record.metadata());
  }

  /**
   * Checks one record value and returns it as a chunk; a value that holds a whole snapshot is
   * decoded completely ({@link DecodedChunk#whole()}). Every size is checked against {@code limits}
   * and against the bytes actually present before anything is allocated.
   */
  public static DecodedChunk decode(byte[] value, DecodeLimits limits) throws WireFormatException {
    return Frames.decode(value, limits);
  }

  /** Decodes an assembled body; checks its CRC32C first. */
  static SnapshotRecord decodeBody(byte[] body, int expectedCrc, DecodeLimits limits)
      throws WireFormatException {
    return SnapshotBody.decode(body, expectedCrc, limits);
  }

  // ==== Helpers the wire classes share =======================================================

  static String hexId(long snapshotId) {
    return String.format("%016x", snapshotId);
  }

  static String context(String runId, String layer) {
    return " (run=" + runId + ", layer=" + layer + ")";
  }

  static WireFormatException reject(RejectReason reason, String field, String message) {
    return new WireFormatException(reason, field, message);
  }
}
