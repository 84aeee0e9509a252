package io.phasewatch.collector.cli;

import io.phasewatch.collector.json.MeasuresJson;
import io.phasewatch.collector.spectrum.FitRange;
import io.phasewatch.collector.spectrum.SpectralMeasures;
import io.phasewatch.collector.spectrum.Spectrum;
import io.phasewatch.core.arrays.MatrixFiles;
import io.phasewatch.core.arrays.MatrixInfo;
import io.phasewatch.core.arrays.RowReader;
import io.phasewatch.core.sketch.CovarianceSketch;
import io.phasewatch.core.sketch.CovarianceSnapshot;
import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.core.sketch.Float32Moment;
import io.phasewatch.core.sketch.FrequentDirections;
import io.phasewatch.core.sketch.RowSample;
import io.phasewatch.core.sketch.RowSampleSnapshot;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * Prints the study's measures of each 2-D matrix in the given files. Rows are streamed in blocks
 * into the chosen summary, so memory is the summary's size (d² doubles for exact, ℓ·d for fd, the
 * sampled rows for sample), not the file's. With a summary other than exact, and d within the exact
 * limit, the exact summary is filled from the same blocks as well, and the summary's own error
 * against it is printed.
 */
@Command(
    name = "analyze",
    mixinStandardHelpOptions = true,
    description = {
      "Spectral measures of saved hidden states (.npy, .npz, .safetensors).",
      "Per N x d matrix, one row per sample: RankMe, alpha and its R²,",
      "participation ratio, top-1 share, total variance; with --sketch fd,",
      "sample or exact32 also the summary's error against the exact computation."
    })
final class AnalyzeCommand implements Callable<Integer> {

  /** The largest d summarised exactly (a d × d matrix of doubles: 128 MiB at 4096). */
  static final int MAX_EXACT_DIMENSION = 4096;

  static final int MAX_FD_ROWS = 4096;

  /** Floats per streamed block (16 MiB). */
  private static final int BLOCK_VALUES = 1 << 22;

  enum SketchKind {
    exact,
    /** The exact co-moment with its matrix stored as float32: the agent's default for d ≤ 2688. */
    exact32,
    sample,
    fd
  }

  @Spec private CommandSpec spec;

  @Option(names = "--json", description = "One JSON object per matrix and line.")
  private boolean json;

  @Option(
      names = "--fit-range",
      defaultValue = "12:100",
      paramLabel = "FIRST:LAST",
      converter = FitRangeConverter.class,
      description = "1-based ranks of the alpha fit (default ${DEFAULT-VALUE}).")
  private FitRange fitRange;

  @Option(
      names = "--sketch",
      defaultValue = "exact",
      paramLabel = "KIND",
      description = "Summary: ${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE}).")
  private SketchKind sketch;

  @Option(
      names = "--rows",
      defaultValue = "256",
      paramLabel = "ELL",
      description = "Frequent Directions sketch rows ℓ for --sketch fd (default ${DEFAULT-VALUE}).")
  private int rows;

  @Option(
      names = "--sample-rows",
      defaultValue = "2048",
      paramLabel = "N",
      description =
          "Rows kept by --sketch sample, a uniform sample when the matrix has more (default"
              + " ${DEFAULT-VALUE}, the agent's sketch.sample-rows).")
  private int sampleRows;

  @Parameters(arity = "1..*", paramLabel = "FILE", description = ".npy, .npz or .safetensors")
  private List<Path> files;

  static final class FitRangeConverter implements picocli.CommandLine.ITypeConverter<FitRange> {
    @Override
    public FitRange convert(String value) {
      return FitRange.parse(value);
    }
  }

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (sketch == SketchKind.fd && (rows < 2 || rows > MAX_FD_ROWS)) {
      err.println("analyze: --rows " + rows + " outside 2.." + MAX_FD_ROWS);
      err.flush();
      return 2;
    }
    if (sketch == SketchKind.sample && (sampleRows < 2 || sampleRows > RowSample.MAX_CAPACITY)) {
      err.println("analyze: --sample-rows " + sampleRows + " outside 2.." + RowSample.MAX_CAPACITY);
      err.flush();
      return 2;
    }
    int failed = 0;
    for (Path file : files) {
      try {
        MatrixFiles.read(file, (info, reader) -> analyze(file, info, reader, out));
      } catch (NoSuchFileException e) {
        failed++;
        err.println("analyze: " + file + ": no such file");
      } catch (AccessDeniedException e) {
        failed++;
        err.println("analyze: " + file + ": permission denied");
      } catch (IOException | RuntimeException e) {
        failed++;
        err.println("analyze: " + file + ": " + describe(e));
      } catch (OutOfMemoryError e) {
        failed++;
        err.println("analyze: " + file + ": out of memory (try --sketch fd or a larger -Xmx)");
      }
      out.flush();
      err.flush();
    }
    return failed == 0 ? 0 : 1;
  }

  private static String describe(Exception e) {
    String m = e.getMessage();
    if (e instanceof IOException
        && !(e instanceof io.phasewatch.core.arrays.ArrayFormatException)) {
      return "read error: " + (m == null ? e.getClass().getSimpleName() : m);
    }
    return m == null ? e.getClass().getSimpleName() : m;
  }

  private void analyze(Path file, MatrixInfo info, RowReader reader, PrintWriter out)
      throws IOException {
    String where = info.name().isEmpty() ? "" : "array '" + info.name() + "': ";
    int d = info.cols();
    if (d == 0 || info.rows() == 0) {
      throw new IOException(where + "empty matrix (" + info.rows() + " x " + d + ")");
    }
    CovarianceSketch summary = newSummary(d, where);
    // The reference the summary's error is measured against, where the exact summary fits.
    CovarianceSketch exact =
        sketch != SketchKind.exact && d <= MAX_EXACT_DIMENSION ? ExactSummary.ofDimension(d) : null;
    int blockRows = Math.max(1, Math.min(4096, BLOCK_VALUES / d));
    double[] block = new double[blockRows * d];
    int got;
    while ((got = reader.read(block, blockRows)) > 0) {
      summary.update(block, got);
      if (exact != null) {
        exact.update(block, got);
      }
    }
    CovarianceSnapshot snapshot = summary.snapshot();
    if (snapshot.count() == 0) {
      throw new IOException(
          where + "no finite rows (" + snapshot.nonFiniteRows() + " rows hold NaN or Inf)");
    }
    Spectrum spectrum = Spectrum.of(snapshot);
    SpectralMeasures m = SpectralMeasures.of(spectrum, fitRange);
    // Over the window the summary was fitted on (its fallback, if it had to take one), so that
    // alpha_error compares like with like.
    SpectralMeasures reference =
        exact == null
            ? null
            : SpectralMeasures.of(
                Spectrum.of(exact.snapshot()), m.fitRange() == null ? fitRange : m.fitRange());
    Analysis a = new Analysis(file, info, snapshot, spectrum, m, reference);
    out.println(json ? a.toJson() : a.toText());
  }

  /** One matrix's result; {@code reference} is the exact computation, null when not made. */
  private record Analysis(
      Path file,
      MatrixInfo info,
      CovarianceSnapshot s,
      Spectrum spectrum,
      SpectralMeasures m,
      SpectralMeasures reference) {

    String toText() {
      StringBuilder b = new StringBuilder();
      b.append(file).append(':').append(info.name());
      kv(b, "n", Long.toString(m.count()));
      kv(b, "d", Integer.toString(m.dimension()));
      kv(b, "effective_rank", num(m.effectiveRank()));
      kv(b, "alpha", num(m.alpha()));
      kv(b, "alpha_r2", num(m.alphaR2()));
      kv(b, "participation_ratio", num(m.participationRatio()));
      kv(b, "top1_share", num(m.top1Share()));
      kv(b, "total_variance", num(m.totalVariance()));
      kv(b, "fit_range", m.fitRange() == null ? "none" : m.fitRange().toString());
      if (m.fallbackWindow()) {
        kv(b, "fallback", "true");
      }
      kv(b, "nonfinite_rows", Long.toString(s.nonFiniteRows()));
      if (spectrum.kind() == Spectrum.Kind.FREQUENT_DIRECTIONS) {
        kv(
            b,
            "effective_rank_bounds",
            "[" + num(m.effectiveRankLow()) + "," + num(m.effectiveRankHigh()) + "]");
        kv(b, "alpha_bounds", "[" + num(m.alphaLow()) + "," + num(m.alphaHigh()) + "]");
        kv(b, "dropped_variance", num(spectrum.droppedVariance()));
        kv(b, "effective_rank_sketch", num(m.sketchEffectiveRank()));
        kv(b, "alpha_sketch", num(m.sketchAlpha()));
      }
      if (s instanceof RowSampleSnapshot r) {
        kv(b, "rows_seen", Long.toString(r.seenRows()));
      }
      if (reference != null) {
        kv(b, "effective_rank_exact", num(reference.effectiveRank()));
        kv(b, "alpha_exact", num(reference.alpha()));
        kv(b, "effective_rank_rel_error", num(relativeError(m, reference)));
        kv(b, "alpha_error", num(m.alpha() - reference.alpha()));
      }
      if (!m.alphaNote().isEmpty()) {
        b.append("  # ").append(m.alphaNote());
      }
      return b.toString();
    }

    /** One line of {@code --json}: the measures under the names of docs/http-api.md. */
    String toJson() {
      // The summary's own error: its value minus the exact computation on all rows of the matrix
      // (null with --sketch exact, or when d is beyond the exact limit).
      double nan = Double.NaN;
      return new JsonObject()
          .put("file", file.toString())
          .put("name", info.name())
          .mergeIn(MeasuresJson.measures(m))
          .put(MeasuresJson.NONFINITE_ROWS, s.nonFiniteRows())
          .put("rows_seen", s instanceof RowSampleSnapshot r ? r.seenRows() : s.count())
          .put("dropped_variance", MeasuresJson.finite(spectrum.droppedVariance()))
          .put(
              "effective_rank_exact",
              MeasuresJson.finite(reference == null ? nan : reference.effectiveRank()))
          .put("alpha_exact", MeasuresJson.finite(reference == null ? nan : reference.alpha()))
          .put(
              "effective_rank_rel_error",
              MeasuresJson.finite(reference == null ? nan : relativeError(m, reference)))
          .put(
              "alpha_error",
              MeasuresJson.finite(reference == null ? nan : m.alpha() - reference.alpha()))
          .encode();
    }
  }

  private CovarianceSketch newSummary(int d, String where) throws IOException {
    if (sketch == SketchKind.sample) {
      if (d > RowSample.MAX_DIMENSION || (long) sampleRows * d > Integer.MAX_VALUE - 8) {
        throw new IOException(
            where + "d = " + d + " with --sample-rows " + sampleRows + " exceeds the sample limit");
      }
      return RowSample.withCapacity(sampleRows, d);
    }
    if (sketch == SketchKind.fd) {
      if (d > FrequentDirections.MAX_DIMENSION) {
        throw new IOException(
            where + "d = " + d + " exceeds the sketch limit " + FrequentDirections.MAX_DIMENSION);
      }
      return FrequentDirections.withRows(rows, d);
    }
    if (sketch == SketchKind.exact32) {
      if (d > Float32Moment.MAX_DIMENSION) {
        throw new IOException(
            where
                + "d = "
                + d
                + " exceeds the float32 co-moment limit "
                + Float32Moment.MAX_DIMENSION);
      }
      return Float32Moment.ofDimension(d);
    }
    if (d > MAX_EXACT_DIMENSION) {
      throw new IOException(
          where
              + "d = "
              + d
              + " exceeds the exact limit "
              + MAX_EXACT_DIMENSION
              + "; use --sketch sample (the agent's default route) or --sketch fd --rows ELL");
    }
    return ExactSummary.ofDimension(d);
  }

  private static void kv(StringBuilder b, String k, String v) {
    b.append("  ").append(k).append('=').append(v);
  }

  private static String num(double v) {
    return Double.isNaN(v) ? "nan" : String.format(Locale.ROOT, "%.6g", v);
  }

  private static double relativeError(SpectralMeasures m, SpectralMeasures reference) {
    return m.effectiveRank() / reference.effectiveRank() - 1.0;
  }
}
