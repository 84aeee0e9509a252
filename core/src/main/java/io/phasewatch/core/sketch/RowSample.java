package io.phasewatch.core.sketch;

import java.util.SplittableRandom;

/**
 * Keeps the rows: all of them while they fit, then a uniform sample without replacement of a fixed
 * size (Vitter's reservoir algorithm R: row t, 0-based, replaces a random slot with probability
 * {@code capacity/(t+1)}). Memory is {@code capacity·d} floats; an update copies rows and draws one
 * random number per row beyond the capacity, so the sketch thread does no arithmetic on them. The
 * collector computes the spectrum of exactly these rows.
 *
 * <p>A fixed sample size per window keeps the Marchenko–Pastur distortion of the sample spectrum
 * the same from window to window (docs/spectrum.md), which is what a trend of RankMe and α needs.
 * The random stream is seeded with a constant, so a run is reproducible. Single-threaded by design.
 */
public final class RowSample implements CovarianceSketch {

  /** Largest capacity accepted (rows). */
  public static final int MAX_CAPACITY = 1 << 16;

  /** Largest row dimension accepted. */
  public static final int MAX_DIMENSION = 1 << 20;

  private static final long SEED = 0x5EED_0F_B0_05L;

  private final int capacity;
  private final int d;
  private final float[] rows;
  private final SplittableRandom random = new SplittableRandom(SEED);
  private int held;
  private long seen;
  private long nonFiniteRows;

  private RowSample(int capacity, int d) {
    this.capacity = capacity;
    this.d = d;
    this.rows = new float[Math.multiplyExact(capacity, d)];
  }

  /**
   * An empty sample of at most {@code capacity} rows of dimension {@code d}; {@code capacity·d}
   * floats must fit one Java array.
   */
  public static RowSample withCapacity(int capacity, int d) {
    if (capacity < 1 || capacity > MAX_CAPACITY || d < 1 || d > MAX_DIMENSION) {
      throw new IllegalArgumentException(
          "row sample: capacity "
              + capacity
              + " outside 1.."
              + MAX_CAPACITY
              + " or d="
              + d
              + " outside 1.."
              + MAX_DIMENSION);
    }
    if ((long) capacity * d > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(
          "row sample: capacity·d = " + (long) capacity * d + " floats do not fit one array");
    }
    return new RowSample(capacity, d);
  }

  /**
   * The capacity a rank keeps so that the window merged over {@code worldSize} ranks holds about
   * {@code windowRows} rows, within {@code maxBytes} of float32 rows per layer: {@code
   * min(⌈windowRows/worldSize⌉, ⌊maxBytes/(4d)⌋)}, at least 1.
   */
  public static int capacityFor(int windowRows, int worldSize, long maxBytes, int d) {
    if (windowRows < 1 || worldSize < 1 || d < 1) {
      throw new IllegalArgumentException(
          "row sample: windowRows " + windowRows + ", worldSize " + worldSize + ", d " + d);
    }
    long perRank = ((long) windowRows + worldSize - 1) / worldSize;
    long byBytes = Math.max(1, maxBytes / (4L * d));
    return (int) Math.min(MAX_CAPACITY, Math.min(perRank, byBytes));
  }

  @Override
  public int dimension() {
    return d;
  }

  /** Rows this sample keeps at most. */
  public int capacity() {
    return capacity;
  }

  @Override
  public void update(float[] row) {
    ExactSummary.checkRow(row == null ? -1 : row.length, d, "row sample");
    offer(row, 0);
  }

  @Override
  public void update(float[] batch, int rowCount) {
    ExactSummary.checkBatch(batch.length, rowCount, d, "row sample");
    for (int i = 0; i < rowCount; i++) {
      offer(batch, i * d);
    }
  }

  /**
   * Float64 rows are kept as float32: the sample travels as float32 rows (wire kind 3), so a spread
   * below a float's resolution of the mean is lost here, unlike in the exact summary. The default
   * route only samples layers wider than 2688, where hidden states are float32 or narrower.
   */
  @Override
  public void update(double[] batch, int rowCount) {
    ExactSummary.checkBatch(batch.length, rowCount, d, "row sample");
    float[] row = new float[d];
    for (int i = 0; i < rowCount; i++) {
      if (!DenseKernels.finite(batch, i * d, d)) {
        nonFiniteRows++;
        continue;
      }
      for (int j = 0; j < d; j++) {
        row[j] = (float) batch[i * d + j];
      }
      offer(row, 0);
    }
  }

  private void offer(float[] src, int off) {
    if (!DenseKernels.finite(src, off, d)) {
      nonFiniteRows++;
      return;
    }
    long t = seen++;
    int slot;
    if (held < capacity) {
      slot = held++;
    } else {
      long j = random.nextLong(t + 1);
      if (j >= capacity) {
        return;
      }
      slot = (int) j;
    }
    System.arraycopy(src, off, rows, slot * d, d);
  }

  @Override
  public RowSampleSnapshot snapshot() {
    float[] kept = new float[held * d];
    System.arraycopy(rows, 0, kept, 0, kept.length);
    return new RowSampleSnapshot(capacity, d, kept, seen, nonFiniteRows);
  }

  @Override
  public void reset() {
    held = 0;
    seen = 0;
    nonFiniteRows = 0;
  }
}
