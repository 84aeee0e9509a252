package io.phasewatch.core.arrays;

import java.io.IOException;

/** Receives each matrix of a file in turn; the rows must be read before returning. */
@FunctionalInterface
public interface MatrixVisitor {

  void matrix(MatrixInfo info, RowReader rows) throws IOException;
}
