package io.phasewatch.core.wire;

import java.util.Locale;

/** Why a record value was set aside; {@link #label()} is the {@code reason} label of the metric. */
public enum RejectReason {
  /** The value does not start with the phasewatch snapshot magic. */
  BAD_MAGIC,
  /** A format version this decoder does not read (newer, or zero). */
  BAD_VERSION,
  /** A CRC32C over a record value or over an assembled snapshot does not match. */
  BAD_CRC,
  /** A size or count above a {@link DecodeLimits} bound. */
  TOO_LARGE,
  /** Fewer bytes than the header announces. */
  TRUNCATED,
  /** A field with a value v1 does not allow (unknown code, negative count, NaN, trailing bytes). */
  BAD_FIELD,
  /** A chunked snapshot did not complete within the assembler's timeout. */
  CHUNK_TIMEOUT,
  /** The assembler's bound on pending snapshots or pending bytes would be exceeded. */
  CHUNK_OVERFLOW;

  /** Lower-case name used as the {@code reason} label of {@code phasewatch.records.rejected}. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
