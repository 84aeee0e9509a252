package io.phasewatch.core.sketch;

/**
 * Which summary a layer of width d gets when nothing is configured: the one route the Java agent,
 * the spool sidecar and {@code analyze --sketch sample} share (their configuration defaults are
 * these constants). The choice is the summary closest to the study's computation within the cost
 * budget of 16 MiB per layer and rank (docs/configuration.md, docs/benchmarks.md "Accuracy"):
 *
 * <ul>
 *   <li>{@code d ≤ }{@value #EXACT_MAX_DIMENSION}: the exact co-moment of every row of the window
 *       ({@code 8·d²} bytes, 8 MiB at d = 1024);
 *   <li>{@code d ≤ }{@value #FLOAT32_MAX_DIMENSION}: the same co-moment of every row with its
 *       matrix stored as a float32 triangle ({@link Float32Moment}, 8 MiB at d = 2048);
 *   <li>wider: the rows themselves, all of them up to {@value #SAMPLE_ROWS} per window over all
 *       ranks, else a uniform sample of that many; exact on those rows by construction.
 * </ul>
 */
public final class DefaultSummary {

  /** Widest layer that gets the exact co-moment summary. */
  public static final int EXACT_MAX_DIMENSION = 1024;

  /**
   * Widest layer that gets the float32 co-moment: the widest multiple of 64 whose summary
   * (triangle, staging rows and panel, {@link Float32Moment#bytesHeld}) fits 16 MiB — 15.4 MiB at
   * 2688, where the wire body is 13.8 MiB. A full float32 square would stop at d = 2048 with
   * nothing left for staging.
   */
  public static final int FLOAT32_MAX_DIMENSION = 2688;

  /**
   * Rows a window's sample holds over all ranks: the study's cap on the eigenvalues it keeps
   * ({@code K = min(2048, N, d)}), and what the collector's spectrum of {@code N²d} multiply-adds
   * affords in about a second of one core at d = 4096.
   */
  public static final int SAMPLE_ROWS = 2048;

  /** float32 rows one rank keeps per layer at most (4 MiB at d = 4096 with 8 ranks). */
  public static final long SAMPLE_MAX_BYTES = 16L << 20;

  private DefaultSummary() {}

  /** The default summary of a layer of width {@code d} on one of {@code worldSize} ranks. */
  public static CovarianceSketch forLayer(int d, int worldSize) {
    if (d <= EXACT_MAX_DIMENSION) {
      return ExactSummary.ofDimension(d);
    }
    if (d <= FLOAT32_MAX_DIMENSION) {
      return Float32Moment.ofDimension(d);
    }
    return RowSample.withCapacity(
        RowSample.capacityFor(SAMPLE_ROWS, worldSize, SAMPLE_MAX_BYTES, d), d);
  }
}
