package io.phasewatch.collector.spectrum;

/**
 * The ranks, 1-based and inclusive, over which α is fitted. The study (arXiv 2509.23024) uses
 * 12…100; other published code uses 4…100 or 6…100. At least three ranks, so that R² means
 * something.
 */
public record FitRange(int first, int last) {

  /** The study's window, ranks 12…100. */
  public static final FitRange STUDY = new FitRange(12, 100);

  /** The most ranks a window may span; far beyond any useful power-law fit. */
  public static final int MAX_RANK = 1 << 20;

  public FitRange {
    if (first < 1 || last < first + 2 || last > MAX_RANK) {
      throw new IllegalArgumentException(
          "fit range: need 1 ≤ first, first + 2 ≤ last ≤ "
              + MAX_RANK
              + ", got "
              + first
              + ":"
              + last);
    }
  }

  /** Parses {@code "12:100"}. */
  public static FitRange parse(String text) {
    String t = text == null ? "" : text.trim();
    int colon = t.indexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException("fit range: expected FIRST:LAST, got '" + text + "'");
    }
    try {
      return new FitRange(
          Integer.parseInt(t.substring(0, colon).trim()),
          Integer.parseInt(t.substring(colon + 1).trim()));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "fit range: expected integers FIRST:LAST, got '" + text + "'", e);
    }
  }

  public int size() {
    return last - first + 1;
  }

  @Override
  public String toString() {
    return first + ":" + last;
  }
}
