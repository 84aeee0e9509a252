package io.phasewatch.core.wire;

import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Puts chunked snapshots back together. Bounded in pending snapshots, pending bytes and time: a
 * chunk that would exceed a bound is rejected ({@link RejectReason#CHUNK_OVERFLOW}) and what was
 * already accepted stays; {@link #expire} drops partial snapshots older than the timeout. A chunk
 * repeated byte for byte is ignored, as is any chunk of a recently completed snapshot; a chunk that
 * contradicts earlier chunks of its snapshot is rejected. Not thread-safe: one consumer thread.
 */
public final class ChunkAssembler {

  public static final int DEFAULT_MAX_PENDING_SNAPSHOTS = 64;
  public static final long DEFAULT_MAX_PENDING_BYTES = 256L << 20;
  public static final long DEFAULT_TIMEOUT_MILLIS = 60_000;

  /** How many completed snapshot ids are remembered to ignore late duplicate chunks. */
  static final int COMPLETED_MEMORY = 1_024;

  private final int maxPendingSnapshots;
  private final long maxPendingBytes;
  private final long timeoutMillis;
  private final DecodeLimits limits;
  private final LinkedHashMap<Long, Pending> pending = new LinkedHashMap<>();
  private final LinkedHashMap<Long, Boolean> completed =
      new LinkedHashMap<>(16, 0.75f, false) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, Boolean> eldest) {
          return size() > COMPLETED_MEMORY;
        }
      };
  private long pendingBytes;

  private ChunkAssembler(
      int maxPendingSnapshots, long maxPendingBytes, long timeoutMillis, DecodeLimits limits) {
    if (maxPendingSnapshots < 1 || maxPendingBytes < 1 || timeoutMillis < 1) {
      throw new IllegalArgumentException(
          "chunk assembler: maxPendingSnapshots, maxPendingBytes and timeoutMillis must be ≥ 1");
    }
    this.maxPendingSnapshots = maxPendingSnapshots;
    this.maxPendingBytes = maxPendingBytes;
    this.timeoutMillis = timeoutMillis;
    this.limits = Objects.requireNonNull(limits, "limits");
  }

  /** 64 pending snapshots, 256 MiB pending, 60 s timeout, {@link DecodeLimits#defaults()}. */
  public static ChunkAssembler withDefaults() {
    return bounded(
        DEFAULT_MAX_PENDING_SNAPSHOTS,
        DEFAULT_MAX_PENDING_BYTES,
        DEFAULT_TIMEOUT_MILLIS,
        DecodeLimits.defaults());
  }

  public static ChunkAssembler bounded(
      int maxPendingSnapshots, long maxPendingBytes, long timeoutMillis, DecodeLimits limits) {
    return new ChunkAssembler(maxPendingSnapshots, maxPendingBytes, timeoutMillis, limits);
  }

  /**
   * Takes one decoded chunk; returns the snapshot when this chunk completed it. A single-chunk
   * value completes at once. Rejections leave earlier chunks of the same snapshot pending.
   */
  public Optional<SnapshotRecord> accept(DecodedChunk chunk, long nowMillis)
      throws WireFormatException {
    if (chunk.whole().isPresent()) {
      return chunk.whole();
    }
    long id = chunk.snapshotId();
    String sid = " (snapshot=" + SnapshotCodec.hexId(id) + ")";
    if (completed.containsKey(id)) {
      return Optional.empty();
    }
    Pending p = pending.get(id);
    if (p == null) {
      if (pending.size() >= maxPendingSnapshots) {
        throw SnapshotCodec.reject(
            RejectReason.CHUNK_OVERFLOW,
            "pendingSnapshots",
            "snapshot v1: "
                + pending.size()
                + " partial snapshots pending, limit "
                + maxPendingSnapshots
                + sid);
      }
    } else if (p.count != chunk.chunkCount()
        || p.bodyLength != chunk.bodyLength()
        || p.bodyCrc != chunk.bodyCrc()) {
      throw SnapshotCodec.reject(
          RejectReason.BAD_FIELD,
          "chunkCount",
          "snapshot v1: chunk "
              + chunk.chunkIndex()
              + " announces "
              + chunk.chunkCount()
              + " chunks, body "
              + chunk.bodyLength()
              + " bytes; earlier chunks announced "
              + p.count
              + " chunks, body "
              + p.bodyLength
              + " bytes (or a different body CRC)"
              + sid);
    } else {
      byte[] earlier = p.parts[chunk.chunkIndex()];
      if (earlier != null) {
        if (p.offsets[chunk.chunkIndex()] == chunk.offset()
            && Arrays.equals(earlier, chunk.payloadUnsafe())) {
          return Optional.empty();
        }
        throw SnapshotCodec.reject(
            RejectReason.BAD_FIELD,
            "chunkIndex",
            "snapshot v1: chunk "
                + chunk.chunkIndex()
                + " arrived twice with different bytes"
                + sid);
      }
    }
    if (pendingBytes + chunk.payloadLength() > maxPendingBytes) {
      throw SnapshotCodec.reject(
          RejectReason.CHUNK_OVERFLOW,
          "pendingBytes",
          "snapshot v1: "
              + (pendingBytes + chunk.payloadLength())
              + " pending chunk bytes would exceed limit "
              + maxPendingBytes
              + sid);
    }
    if (p == null) {
      p = new Pending(chunk.chunkCount(), chunk.bodyLength(), chunk.bodyCrc(), nowMillis);
      pending.put(id, p);
    }
    p.parts[chunk.chunkIndex()] = chunk.payloadUnsafe();
    p.offsets[chunk.chunkIndex()] = chunk.offset();
    p.received++;
    p.bytes += chunk.payloadLength();
    pendingBytes += chunk.payloadLength();
    if (p.received < p.count) {
      return Optional.empty();
    }
    pending.remove(id);
    pendingBytes -= p.bytes;
    byte[] body = p.assemble(sid);
    SnapshotRecord record = SnapshotCodec.decodeBody(body, p.bodyCrc, limits);
    completed.put(id, Boolean.TRUE);
    return Optional.of(record);
  }

  /** Drops partial snapshots whose first chunk is at least the timeout old; returns how many. */
  public int expire(long nowMillis) {
    int dropped = 0;
    for (Iterator<Pending> it = pending.values().iterator(); it.hasNext(); ) {
      Pending p = it.next();
      if (nowMillis - p.firstSeenMillis >= timeoutMillis) {
        pendingBytes -= p.bytes;
        it.remove();
        dropped++;
      }
    }
    return dropped;
  }

  public int pendingSnapshots() {
    return pending.size();
  }

  public long pendingBytes() {
    return pendingBytes;
  }

  private static final class Pending {
    final int count;
    final int bodyLength;
    final int bodyCrc;
    final long firstSeenMillis;
    final byte[][] parts;
    final int[] offsets;
    int received;
    long bytes;

    Pending(int count, int bodyLength, int bodyCrc, long firstSeenMillis) {
      this.count = count;
      this.bodyLength = bodyLength;
      this.bodyCrc = bodyCrc;
      this.firstSeenMillis = firstSeenMillis;
      // count ≤ DecodeLimits.maxChunksPerSnapshot, checked by the decoder.
      this.parts = new byte[count][];
      this.offsets = new int[count];
    }

    /** The chunks, in index order, must tile [0, bodyLength) exactly. */
    byte[] assemble(String sid) throws WireFormatException {
      if (bytes != bodyLength) {
        throw SnapshotCodec.reject(
            RejectReason.BAD_FIELD,
            "chunkOffset",
            "snapshot v1: chunks hold " + bytes + " bytes of a " + bodyLength + "-byte body" + sid);
      }
      byte[] body = new byte[bodyLength];
      int at = 0;
      for (int i = 0; i < count; i++) {
        if (offsets[i] != at) {
          throw SnapshotCodec.reject(
              RejectReason.BAD_FIELD,
              "chunkOffset",
              "snapshot v1: chunk " + i + " at offset " + offsets[i] + ", expected " + at + sid);
        }
        System.arraycopy(parts[i], 0, body, at, parts[i].length);
        at += parts[i].length;
      }
      return body;
    }
  }
}
