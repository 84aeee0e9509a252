package io.phasewatch.core.arrays;

import java.io.IOException;

/**
 * Pulls the rows of one matrix in order, a block at a time, as doubles: every element type read
 * (float16, bfloat16, float32, float64) converts to double exactly, so float64 data keeps its
 * precision and range.
 */
public interface RowReader {

  /**
   * Reads up to {@code maxRows} rows row-major into {@code block} (length ≥ maxRows·cols); returns
   * the number read, 0 once all rows are read.
   *
   * @throws ArrayFormatException when the data ends before the header's shape says it should
   */
  int read(double[] block, int maxRows) throws IOException;
}
