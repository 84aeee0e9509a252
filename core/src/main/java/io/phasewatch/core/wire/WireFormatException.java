package io.phasewatch.core.wire;

import java.util.Objects;

/** A record value that is not a valid v1 snapshot or chunk; names the reason and the field. */
public class WireFormatException extends Exception {
  private static final long serialVersionUID = 1L;

  private final RejectReason reason;
  private final String field;

  public WireFormatException(RejectReason reason, String field, String message) {
    super(message);
    this.reason = Objects.requireNonNull(reason, "reason");
    this.field = Objects.requireNonNull(field, "field");
  }

  public RejectReason reason() {
    return reason;
  }

  /** The offending field as named in docs/wire-format.md, e.g. {@code dimension} or {@code crc}. */
  public String field() {
    return field;
  }
}
