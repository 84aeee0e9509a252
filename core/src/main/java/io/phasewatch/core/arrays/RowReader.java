package io.phasewatch.core.arrays;

import java.io.IOException;

/** Pulls the rows of one matrix in order, as float32, a block at a time. */
public interface RowReader {

  /**
   * Reads up to {@code maxRows} rows row-major into {@code block} (length ≥ maxRows·cols); returns
   * the number read, 0 once all rows are read.
   *
   * @throws ArrayFormatException when the data ends before the header's shape says it should
   */
  int read(float[] block, int maxRows) throws IOException;
}
