package io.phasewatch.core.config;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one size and duration syntax of every phasewatch key. Sizes are binary: {@code 900000}
 * (bytes), {@code 512B}, {@code 64KiB}, {@code 64MiB}, {@code 1GiB}, {@code 1TiB}; a plain integer
 * stays accepted as bytes, since that is what it always meant. Durations need their unit: {@code
 * 500ms}, {@code 30s}, {@code 5m}, {@code 1h}; a bare number would be ambiguous (the collector's
 * old {@code *-ms} keys were milliseconds, nothing else was), so it is an error.
 */
public final class Units {

  /** What a size looks like, for error messages. */
  public static final String SIZE_FORM = "a size like 65536, 64KiB, 64MiB or 1GiB";

  /** What a duration looks like, for error messages. */
  public static final String DURATION_FORM = "a duration like 500ms, 30s, 5m or 1h";

  private static final Pattern SIZE =
      Pattern.compile("(\\d{1,19})\\s*(B|KiB|MiB|GiB|TiB)?", Pattern.CASE_INSENSITIVE);
  private static final Pattern DECIMAL_SIZE =
      Pattern.compile("\\d+\\s*([KMGT])B", Pattern.CASE_INSENSITIVE);
  private static final Pattern DURATION =
      Pattern.compile("(\\d{1,19})\\s*(ms|s|m|h)", Pattern.CASE_INSENSITIVE);

  private Units() {}

  /**
   * Bytes of a size.
   *
   * @throws IllegalArgumentException naming the expected form; decimal units ({@code 64MB}) are
   *     refused with a pointer to the binary one, since a silent 10⁶ vs 2²⁰ mix-up is a 5% error
   */
  public static long bytes(String text) {
    String s = text.trim();
    Matcher m = SIZE.matcher(s);
    if (!m.matches()) {
      Matcher decimal = DECIMAL_SIZE.matcher(s);
      if (decimal.matches()) {
        throw new IllegalArgumentException(
            "expected "
                + SIZE_FORM
                + " (binary units: "
                + decimal.group(1).toUpperCase(Locale.ROOT)
                + "iB, not "
                + decimal.group(1).toUpperCase(Locale.ROOT)
                + "B)");
      }
      throw new IllegalArgumentException("expected " + SIZE_FORM);
    }
    int shift =
        m.group(2) == null
            ? 0
            : switch (m.group(2).toLowerCase(Locale.ROOT)) {
              case "kib" -> 10;
              case "mib" -> 20;
              case "gib" -> 30;
              case "tib" -> 40;
              default -> 0;
            };
    try {
      return Math.multiplyExact(Long.parseLong(m.group(1)), 1L << shift);
    } catch (ArithmeticException | NumberFormatException e) {
      throw new IllegalArgumentException("expected a size below 2^63 bytes");
    }
  }

  /**
   * A duration with its unit.
   *
   * @throws IllegalArgumentException naming the expected form
   */
  public static Duration duration(String text) {
    String s = text.trim();
    Matcher m = DURATION.matcher(s);
    if (!m.matches()) {
      if (s.matches("\\d+")) {
        throw new IllegalArgumentException(
            "expected "
                + DURATION_FORM
                + " (a bare number has no unit: write "
                + s
                + "ms or "
                + s
                + "s)");
      }
      throw new IllegalArgumentException("expected " + DURATION_FORM);
    }
    try {
      long n = Long.parseLong(m.group(1));
      return switch (m.group(2).toLowerCase(Locale.ROOT)) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        default -> Duration.ofHours(n);
      };
    } catch (ArithmeticException | NumberFormatException e) {
      throw new IllegalArgumentException("expected a duration below 2^63 ms");
    }
  }
}
