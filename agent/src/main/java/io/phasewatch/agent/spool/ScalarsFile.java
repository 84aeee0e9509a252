package io.phasewatch.agent.spool;

import io.phasewatch.core.wire.TrainingScalars;
import java.util.TreeMap;

/**
 * The text of a {@code .scalars} spool file (docs/spool.md): one scalar per line, {@code name value
 * [weight]}, separated by spaces; blank lines and lines starting with {@code #} are skipped. The
 * weight (default 1) says how many values the value is the mean of, e.g. the steps whose loss it
 * averages. Values that are not finite are left out and counted; any other fault rejects the file.
 *
 * @param scalars what the file holds, non-finite values left out
 * @param nonFinite how many lines held a NaN or infinite value
 */
record ScalarsFile(TrainingScalars scalars, int nonFinite) {

  /** Largest file read: 32 names of 64 characters with two numbers fit many times over. */
  static final int MAX_BYTES = 16 * 1024;

  /**
   * @throws IllegalArgumentException naming the line at fault
   */
  static ScalarsFile parse(String text) {
    var values = new TreeMap<String, TrainingScalars.Scalar>();
    int nonFinite = 0;
    String[] lines = text.split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i].strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String where = "scalars line " + (i + 1) + ": ";
      String[] f = line.split("[ \t]+");
      if (f.length < 2 || f.length > 3) {
        throw new IllegalArgumentException(where + "expected 'name value [weight]'");
      }
      String problem = TrainingScalars.nameProblem(f[0]);
      if (problem != null) {
        throw new IllegalArgumentException(where + problem);
      }
      if (values.containsKey(f[0])) {
        throw new IllegalArgumentException(where + "'" + f[0] + "' given twice");
      }
      double value;
      long weight;
      try {
        // Python writes nan and inf; Java's parser knows only NaN and Infinity.
        String v = f[1].toLowerCase(java.util.Locale.ROOT).replaceFirst("^[+-]", "");
        value =
            v.equals("nan") || v.equals("inf") || v.equals("infinity")
                ? Double.NaN
                : Double.parseDouble(f[1]);
        weight = f.length == 3 ? Long.parseLong(f[2]) : 1;
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(where + "not a number: " + e.getMessage());
      }
      if (weight < 1 || weight > 0xFFFF_FFFFL) {
        throw new IllegalArgumentException(where + "weight " + weight + " outside 1..2^32-1");
      }
      if (!Double.isFinite(value)) {
        nonFinite++;
        continue;
      }
      if (values.size() >= TrainingScalars.MAX_SCALARS) {
        throw new IllegalArgumentException(
            where + "more than " + TrainingScalars.MAX_SCALARS + " scalars");
      }
      values.put(f[0], new TrainingScalars.Scalar(weight, value));
    }
    return new ScalarsFile(new TrainingScalars(values), nonFinite);
  }
}
