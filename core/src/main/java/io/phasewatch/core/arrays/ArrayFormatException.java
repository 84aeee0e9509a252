package io.phasewatch.core.arrays;

import java.io.IOException;

/** A file that is not a readable 2-D float matrix; the message names the problem and the limit. */
public final class ArrayFormatException extends IOException {

  private static final long serialVersionUID = 1L;

  public ArrayFormatException(String message) {
    super(message);
  }
}
