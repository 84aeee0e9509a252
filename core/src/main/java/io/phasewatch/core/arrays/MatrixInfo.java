package io.phasewatch.core.arrays;

import java.util.Objects;

/**
 * One 2-D matrix in a file: its name (the array or tensor name; the file's base name for .npy),
 * rows N, columns d and the stored element type as the file spells it.
 */
public record MatrixInfo(String name, long rows, int cols, String dtype) {

  public MatrixInfo {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(dtype, "dtype");
    if (rows < 0 || cols < 0) {
      throw new IllegalArgumentException("matrix: negative shape " + rows + " x " + cols);
    }
  }
}
