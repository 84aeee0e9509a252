package io.phasewatch.core.wire;

import java.util.Optional;

/**
 * One checked record value: either a whole snapshot (chunk count 1, already fully decoded) or one
 * chunk of a larger snapshot, with what {@link ChunkAssembler} needs to put the body back together.
 * Produced only by {@link SnapshotCodec#decode}; every field has passed the frame checks.
 */
public final class DecodedChunk {
  private final long snapshotId;
  private final int bodyLength;
  private final int bodyCrc;
  private final int index;
  private final int count;
  private final int offset;
  private final byte[] payload;
  private final SnapshotRecord whole;

  DecodedChunk(
      long snapshotId,
      int bodyLength,
      int bodyCrc,
      int index,
      int count,
      int offset,
      byte[] payload,
      SnapshotRecord whole) {
    this.snapshotId = snapshotId;
    this.bodyLength = bodyLength;
    this.bodyCrc = bodyCrc;
    this.index = index;
    this.count = count;
    this.offset = offset;
    this.payload = payload;
    this.whole = whole;
  }

  /** 64-bit id shared by all chunks of one snapshot (a content hash of the body). */
  public long snapshotId() {
    return snapshotId;
  }

  /** Length of the whole snapshot body, equal in every chunk of the snapshot. */
  public int bodyLength() {
    return bodyLength;
  }

  /** CRC32C of the whole snapshot body, equal in every chunk of the snapshot. */
  public int bodyCrc() {
    return bodyCrc;
  }

  /** Zero-based position of this chunk, {@code < chunkCount()}. */
  public int chunkIndex() {
    return index;
  }

  public int chunkCount() {
    return count;
  }

  /** Byte offset of this chunk's payload within the snapshot body. */
  public int offset() {
    return offset;
  }

  public int payloadLength() {
    return payload.length;
  }

  /** The decoded snapshot when this value held all of it; empty for a chunk of a larger one. */
  public Optional<SnapshotRecord> whole() {
    return Optional.ofNullable(whole);
  }

  // Package-private: the assembler reads the payload without a copy; nothing else sees it.
  byte[] payloadUnsafe() {
    return payload;
  }

  @Override
  public String toString() {
    return "DecodedChunk[snapshot="
        + SnapshotCodec.hexId(snapshotId)
        + ", chunk="
        + index
        + "/"
        + count
        + ", offset="
        + offset
        + ", length="
        + payload.length
        + ", body="
        + bodyLength
        + "]";
  }
}
