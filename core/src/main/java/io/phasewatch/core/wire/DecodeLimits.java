package io.phasewatch.core.wire;

/**
 * Bounds a decoder enforces before it allocates anything; a value above a bound is rejected as
 * {@link RejectReason#TOO_LARGE}. The defaults are documented in docs/wire-format.md.
 *
 * @param maxDimension largest row dimension d
 * @param maxEll largest Frequent Directions sketch size ℓ
 * @param maxStringBytes largest UTF-8 length of the run id and of the layer name
 * @param maxChunksPerSnapshot largest chunk count of one snapshot
 * @param maxSnapshotBytes largest snapshot body (all chunks' payloads together)
 * @param maxRecordBytes the record limit: largest single record value accepted (one chunk, header
 *     and CRC included); not the encoder's chunk size, which it bounds
 */
public record DecodeLimits(
    int maxDimension,
    int maxEll,
    int maxStringBytes,
    int maxChunksPerSnapshot,
    int maxSnapshotBytes,
    int maxRecordBytes) {

  /** Largest string length the u16 length prefix can express. */
  static final int STRING_LENGTH_CEILING = 0xFFFF;

  /** Java arrays hold at most about 2^31 elements; keep a margin for the VM's header words. */
  static final int BYTES_CEILING = Integer.MAX_VALUE - 64;

  public DecodeLimits {
    if (maxDimension < 1 || maxEll < 1 || maxChunksPerSnapshot < 1) {
      throw new IllegalArgumentException(
          "decode limits: maxDimension, maxEll and maxChunksPerSnapshot must be ≥ 1");
    }
    if (maxStringBytes < 1 || maxStringBytes > STRING_LENGTH_CEILING) {
      throw new IllegalArgumentException(
          "decode limits: maxStringBytes "
              + maxStringBytes
              + " outside 1.."
              + STRING_LENGTH_CEILING);
    }
    if (maxRecordBytes < SnapshotCodec.MIN_RECORD_BYTES) {
      throw new IllegalArgumentException(
          "decode limits: maxRecordBytes "
              + maxRecordBytes
              + " below the minimum "
              + SnapshotCodec.MIN_RECORD_BYTES);
    }
    if (maxSnapshotBytes < 1 || maxSnapshotBytes > BYTES_CEILING) {
      throw new IllegalArgumentException(
          "decode limits: maxSnapshotBytes " + maxSnapshotBytes + " outside 1.." + BYTES_CEILING);
    }
  }

  /**
   * d ≤ 65536, ℓ ≤ 4096, strings ≤ 256 bytes, ≤ 1024 chunks, snapshot ≤ 256 MiB, record ≤ 8 MiB.
   * 256 MiB holds an FD snapshot of about 33.5 million values (ℓ = 4096 at d = 8000) or an exact
   * summary up to d = 8190; 8 MiB leaves room for brokers configured above Kafka's 1 MB default.
   */
  public static DecodeLimits defaults() {
    return new DecodeLimits(65_536, 4_096, 256, 1_024, 256 << 20, 8 << 20);
  }
}
