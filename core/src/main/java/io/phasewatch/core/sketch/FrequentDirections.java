package io.phasewatch.core.sketch;

import java.util.Arrays;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * Frequent Directions, the fast variant with a {@code 2ℓ}-row buffer (Liberty, "Simple and
 * Deterministic Matrix Sketching", KDD 2013; Ghashami, Liberty, Phillips, Woodruff, "Frequent
 * Directions: Simple and Deterministic Matrix Sketching", SIAM J. Comput. 45(5), 2016, "GLPW16").
 *
 * <p>Rows go into empty buffer slots. When all {@code 2ℓ} slots are full the buffer {@code B} is
 * factored, {@code B = UΣVᵀ}, and shrunk: {@code δ = σ²_ℓ} (the ℓ-th squared singular value,
 * 1-based), {@code B ← sqrt(max(Σ² − δ, 0))·Vᵀ}. At most {@code ℓ − 1} rows survive, so the next
 * {@code ℓ + 1} rows go in for free; each shrink costs {@code O(ℓ²d)}, amortised {@code O(ℓd)} per
 * row. Every shrink removes at least {@code ℓ·δ} of squared Frobenius mass, which gives {@code 0 ⪯
 * AᵀA − BᵀB}, {@code ‖AᵀA − BᵀB‖₂ ≤ Δ = Σδ} and {@code Δ ≤ ‖A − A_k‖²_F / (ℓ − k)} for every {@code
 * k < ℓ} (GLPW16's analysis of FD).
 *
 * <p>The SVD is taken through the {@code 2ℓ × 2ℓ} Gram matrix {@code G = BBᵀ = UΣ²Uᵀ} (EJML's
 * symmetric eigensolver) and the rotation {@code sqrt(Σ² − δ)·Vᵀ = diag(sqrt(1 − δ/σ²_i))·UᵀB};
 * both products run in {@link DenseKernels}; the {@code O(ℓ³)} eigensolver is the rest of the work
 * (about 40% of it at ℓ = 256, d = 4096; see docs/benchmarks.md). The buffer is held transposed
 * ({@code d × 2ℓ}) so that neither product needs a transposed copy. Squaring the condition number
 * costs relative accuracy only on singular values far below {@code σ₁}, whose absolute error stays
 * at rounding level of {@code ‖B‖²₂}: the level the bound is stated at.
 *
 * <p>Snapshots and merges reduce up to {@code 2ℓ} rows to at most {@code ℓ} with {@code δ =
 * σ²_{ℓ+1}}, the smallest shrink that leaves {@code ℓ} rows; it removes at least {@code (ℓ+1)·δ} of
 * mass, so the same bound holds, and its δ is added to the snapshot's shrinkage. A snapshot works
 * on scratch space and leaves the live buffer as it was.
 *
 * <p>Alongside the sketch of uncentred rows: the exact count, mean (double, Welford's update) and
 * total sum of squares {@code Σ‖a_i‖²}. Single-threaded by design; after construction the hot path
 * allocates only inside EJML's eigensolver, once per shrink.
 */
public final class FrequentDirections implements CovarianceSketch {

  /** Largest sketch size accepted. */
  public static final int MAX_ELL = 8192;

  /** Largest row dimension accepted. */
  public static final int MAX_DIMENSION = 1 << 20;

  private final int ell;
  private final int d;
  private final int cap; // 2ℓ buffer slots
  private double[] bufT; // d × cap: column s is buffer row s
  private double[] outT; // d × cap scratch for the rotated rows
  private final double[] mean;
  private final double[] rowScratch; // one row, widened, on its way into the buffer
  private final DMatrixRMaj gram;
  private final double[] wT; // cap × cap: column i is the weighted eigenvector of surviving row i
  private final double[] lambda;
  private final int[] order;
  private final EigenDecomposition_F64<DMatrixRMaj> eig;
  private int rows;
  private long n;
  private double sumOfSquares;
  private double shrinkage;
  private long nonFiniteRows;
  private double lastDelta;

  private FrequentDirections(int ell, int d) {
    this.ell = ell;
    this.d = d;
    this.cap = 2 * ell;
    this.bufT = new double[d * cap];
    this.outT = new double[d * cap];
    this.mean = new double[d];
    this.rowScratch = new double[d];
    this.gram = new DMatrixRMaj(cap, cap);
    this.wT = new double[cap * cap];
    this.lambda = new double[cap];
    this.order = new int[cap];
    this.eig = DecompositionFactory_DDRM.eig(cap, true, true);
  }

  /**
   * An empty sketch keeping {@code ell} rows of dimension {@code d} (buffer of {@code 2·ell} rows).
   */
  public static FrequentDirections withRows(int ell, int d) {
    if (ell < 1 || ell > MAX_ELL) {
      throw new IllegalArgumentException(
          "frequent directions: ell=" + ell + " outside 1.." + MAX_ELL);
    }
    if (d < 1 || d > MAX_DIMENSION) {
      throw new IllegalArgumentException(
          "frequent directions: dimension d=" + d + " outside 1.." + MAX_DIMENSION);
    }
    if (2L * ell * d > Integer.MAX_VALUE - 16) {
      throw new IllegalArgumentException(
          "frequent directions: buffer 2·ell·d = " + 2L * ell * d + " values exceeds an array");
    }
    return new FrequentDirections(ell, d);
  }

  @Override
  public int dimension() {
    return d;
  }

  /** The sketch size ℓ. */
  public int ell() {
    return ell;
  }

  @Override
  public void update(float[] row) {
    if (row == null || row.length != d) {
      throw new IllegalArgumentException(
          "frequent directions: row must hold d="
              + d
              + " values, got "
              + (row == null ? 0 : row.length));
    }
    insert(row, 0);
  }

  @Override
  public void update(float[] rows, int rowCount) {
    ExactSummary.checkBatch(rows == null ? -1 : rows.length, rowCount, d, "frequent directions");
    for (int r = 0; r < rowCount; r++) {
      insert(rows, r * d);
    }
  }

  @Override
  public void update(double[] rows, int rowCount) {
    ExactSummary.checkBatch(rows == null ? -1 : rows.length, rowCount, d, "frequent directions");
    for (int r = 0; r < rowCount; r++) {
      int off = r * d;
      if (!DenseKernels.finite(rows, off, d)) {
        nonFiniteRows++;
        continue;
      }
      System.arraycopy(rows, off, rowScratch, 0, d);
      insertFinite(rowScratch);
    }
  }

  private void insert(float[] x, int off) {
    if (!DenseKernels.finite(x, off, d)) {
      nonFiniteRows++;
      return;
    }
    for (int k = 0; k < d; k++) {
      rowScratch[k] = x[off + k];
    }
    insertFinite(rowScratch);
  }

  private void insertFinite(double[] x) {
    int off = 0;
    n++;
    double inv = 1.0 / n;
    double ss = 0;
    int slot = rows;
    for (int k = 0; k < d; k++) {
      double v = x[off + k];
      ss += v * v;
      mean[k] += (v - mean[k]) * inv;
      bufT[k * cap + slot] = v;
    }
    sumOfSquares += ss;
    rows++;
    if (rows == cap) {
      int kept = shrink(rows, ell - 1, outT);
      double[] t = bufT;
      bufT = outT;
      outT = t;
      rows = kept;
      shrinkage += lastDelta;
    }
  }

  /**
   * Shrinks the first {@code m} buffer rows by {@code δ = λ_{deltaIndex}} (0-based, eigenvalues of
   * BBᵀ in decreasing order) into the first columns of {@code out}; returns how many rows survive
   * and leaves δ in {@link #lastDelta}. Reads {@link #bufT}, never writes it.
   */
  private int shrink(int m, int deltaIndex, double[] out) {
    gram.reshape(m, m, false);
    double[] g = gram.data;
    Arrays.fill(g, 0, m * m, 0.0);
    // G = BBᵀ: A(i,k) = B[i][k] = bufT[k·cap + i]; B operand row k of bufT.
    DenseKernels.multAdd(bufT, 0, 1, cap, bufT, 0, cap, g, 0, m, m, m, d, true);
    DenseKernels.mirrorUpper(g, m);
    // EJML's symmetric QR solver does not survive a change of size, so snapshots of a part-filled
    // buffer get their own (they allocate anyway); the streaming shrink always has m = 2ℓ.
    EigenDecomposition_F64<DMatrixRMaj> solver =
        m == cap ? eig : DecompositionFactory_DDRM.eig(m, true, true);
    if (!solver.decompose(gram)) {
      throw new IllegalStateException(
          "frequent directions: eigen-decomposition of the " + m + "×" + m + " Gram matrix failed");
    }
    for (int i = 0; i < m; i++) {
      lambda[i] = Math.max(0.0, solver.getEigenvalue(i).real);
      order[i] = i;
    }
    // Insertion sort, decreasing: m ≤ 2ℓ, and this runs once per ℓ rows.
    for (int i = 1; i < m; i++) {
      int oi = order[i];
      double li = lambda[oi];
      int j = i - 1;
      while (j >= 0 && lambda[order[j]] < li) {
        order[j + 1] = order[j];
        j--;
      }
      order[j + 1] = oi;
    }
    double delta = deltaIndex < m ? lambda[order[deltaIndex]] : 0.0;
    int kept = 0;
    while (kept < Math.min(m, deltaIndex) && lambda[order[kept]] > delta) {
      kept++;
    }
    for (int i = 0; i < kept; i++) {
      double li = lambda[order[i]];
      double scale = Math.sqrt((li - delta) / li);
      double[] u = solver.getEigenVector(order[i]).data;
      for (int s = 0; s < m; s++) {
        wT[s * cap + i] = u[s] * scale;
      }
    }
    Arrays.fill(out, 0.0);
    // Bᵀ_new = Bᵀ·Wᵀ: A(i,k) = bufT[i·cap + k] (d × m), B operand Wᵀ (m × kept).
    DenseKernels.multAdd(bufT, 0, cap, 1, wT, 0, cap, out, 0, cap, d, kept, m, false);
    lastDelta = delta;
    return kept;
  }

  /**
   * The current sketch reduced to at most ℓ rows. When more than ℓ rows are buffered they are
   * shrunk by {@code σ²_{ℓ+1}} in scratch space (that δ is added to the snapshot's shrinkage only);
   * the live buffer is not changed.
   */
  @Override
  public FdSnapshot snapshot() {
    double[] src = bufT;
    int m = rows;
    double delta = 0;
    if (m > ell) {
      m = shrink(rows, ell, outT);
      src = outT;
      delta = lastDelta;
    }
    double[] out = new double[m * d];
    for (int k = 0; k < d; k++) {
      int col = k * cap;
      for (int i = 0; i < m; i++) {
        out[i * d + k] = src[col + i];
      }
    }
    return new FdSnapshot(ell, n, mean, out, sumOfSquares, shrinkage + delta, nonFiniteRows);
  }

  @Override
  public void reset() {
    rows = 0;
    n = 0;
    sumOfSquares = 0;
    shrinkage = 0;
    nonFiniteRows = 0;
    Arrays.fill(mean, 0);
  }

  /**
   * A sketch of the union of the rows behind {@code a} and {@code b}: their rows stacked and shrunk
   * back to ℓ (GLPW16, mergeability), Δ = Δ_a + Δ_b + this shrink's δ; count, mean, sum of squares
   * and non-finite rows combined exactly.
   */
  public static FdSnapshot merge(FdSnapshot a, FdSnapshot b) {
    if (a.ell() != b.ell() || a.dimension() != b.dimension()) {
      throw new IllegalArgumentException(
          "frequent directions merge: sketches differ, ell="
              + a.ell()
              + " d="
              + a.dimension()
              + " vs ell="
              + b.ell()
              + " d="
              + b.dimension());
    }
    FrequentDirections fd = new FrequentDirections(a.ell(), a.dimension());
    fd.load(a.rows(), a.rowCount());
    fd.load(b.rows(), b.rowCount());
    fd.n = a.count() + b.count();
    double[] ma = a.mean();
    double[] mb = b.mean();
    for (int k = 0; k < fd.d; k++) {
      fd.mean[k] = fd.n == 0 ? 0 : ma[k] + (mb[k] - ma[k]) * b.count() / fd.n;
    }
    fd.sumOfSquares = a.sumOfSquares() + b.sumOfSquares();
    fd.shrinkage = a.shrinkage() + b.shrinkage();
    fd.nonFiniteRows = a.nonFiniteRows() + b.nonFiniteRows();
    return fd.snapshot();
  }

  private void load(double[] rowMajor, int count) {
    for (int i = 0; i < count; i++) {
      int slot = rows + i;
      for (int k = 0; k < d; k++) {
        bufT[k * cap + slot] = rowMajor[i * d + k];
      }
    }
    rows += count;
  }
}
