package io.phasewatch.collector.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/** End to end through picocli, in process, on the numpy fixtures and on broken files. */
class AnalyzeCommandTest {

  private static final Path FIXTURES = Path.of("src", "test", "resources", "fixtures");

  @TempDir Path tmp;

  record Result(int exit, String out, String err) {
    List<JsonObject> json() {
      return out.lines().map(JsonObject::new).toList();
    }
  }

  static Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = Main.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int exit = cl.execute(args);
    return new Result(exit, out.toString(), err.toString());
  }

  private static JsonObject expected(String name) throws IOException {
    return new JsonObject(Files.readString(FIXTURES.resolve(name + ".json")));
  }

  private static void assertMeasures(JsonObject got, JsonObject want) {
    assertMeasures(got, want, 1e-8);
  }

  /**
   * The fixtures (numpy's values, scripts/make_spectrum_fixtures.py) keep their own short names;
   * analyze --json writes the names of docs/http-api.md. Fixture name → output name.
   */
  private static final Map<String, String> FIXTURE_TO_JSON =
      Map.of(
          "effective_rank", "effective_rank",
          "participation_ratio", "participation_ratio",
          "total_variance", "total_variance",
          "alpha", "alpha",
          "alpha_r2", "alpha_fit_r2",
          "top1_share", "top1_variance_share",
          "top10_share", "top10_variance_share");

  private static void assertMeasures(JsonObject got, JsonObject want, double rel) {
    assertThat(got.getLong("window_samples")).isEqualTo(want.getLong("n"));
    assertThat(got.getInteger("dimension")).isEqualTo(want.getInteger("d"));
    FIXTURE_TO_JSON.forEach(
        (k, name) ->
            assertThat(got.getDouble(name))
                .as(name)
                .isCloseTo(want.getDouble(k), within(rel * Math.abs(want.getDouble(k)) + 1e-12)));
    assertThat(got.getInteger("alpha_fit_first")).isEqualTo(want.getInteger("fit_first"));
    assertThat(got.getInteger("alpha_fit_last")).isEqualTo(want.getInteger("fit_last"));
  }

  @Test
  void helpListsTheAnalyzeCommand() {
    Result r = run("--help");
    assertThat(r.exit()).isZero();
    assertThat(r.out()).contains("analyze");
  }

  @ParameterizedTest
  @ValueSource(strings = {"f4_matrix.npy", "f4_matrix_big_endian.npy"})
  void npyFilesGiveTheNumpyMeasures(String file) throws IOException {
    Result r = run("analyze", "--json", FIXTURES.resolve(file).toString());
    assertThat(r.err()).isEmpty();
    assertThat(r.exit()).isZero();
    List<JsonObject> lines = r.json();
    assertThat(lines).hasSize(1);
    assertMeasures(lines.get(0), expected("f4_matrix"));
    assertThat(lines.get(0).getLong("nonfinite_rows")).isZero();
    assertThat(lines.get(0).getString("sketch")).isEqualTo("exact");
    assertThat(lines.get(0).getDouble("effective_rank_error_bound")).isZero();
  }

  @ParameterizedTest
  @ValueSource(strings = {"two_layers.npz", "two_layers_deflated.npz", "two_layers.safetensors"})
  void everyArrayOfAContainerIsAnalysed(String file) throws IOException {
    Result r = run("analyze", "--json", FIXTURES.resolve(file).toString());
    assertThat(r.err()).isEmpty();
    assertThat(r.exit()).isZero();
    List<JsonObject> lines = r.json();
    assertThat(lines).extracting(j -> j.getString("name")).containsExactly("layer0", "layer1");
    for (JsonObject j : lines) {
      assertMeasures(j, expected("f4_matrix"));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"f8_spread_1e-9_of_mean", "f8_beyond_float_range"})
  void float64DataAFloatCannotHoldGivesTheNumpyMeasures(String name) throws IOException {
    // 1000 + 1e-6·g is 1000 in float32 (RankMe NaN, total variance 0 before doubles were kept);
    // g·1e39 overflows float32 (every row non-finite).
    Result r = run("analyze", "--json", FIXTURES.resolve(name + ".npy").toString());
    assertThat(r.err()).isEmpty();
    assertThat(r.exit()).isZero();
    JsonObject want = expected(name);
    JsonObject got = r.json().get(0);
    assertThat(got.getLong("nonfinite_rows")).isZero();
    for (String k : List.of("effective_rank", "total_variance", "alpha", "top1_share")) {
      // Relative only: the total variance is 5e-12 in one file and 5e78 in the other.
      String field = FIXTURE_TO_JSON.get(k);
      assertThat(got.getDouble(field))
          .as(field)
          .isCloseTo(want.getDouble(k), within(1e-6 * Math.abs(want.getDouble(k))));
    }
  }

  @Test
  void rowsWithNanOrInfAreExcludedAndCounted() throws IOException {
    Result r = run("analyze", "--json", FIXTURES.resolve("f4_matrix_nonfinite.npy").toString());
    assertThat(r.exit()).isZero();
    JsonObject j = r.json().get(0);
    JsonObject want = expected("f4_matrix_nonfinite");
    assertMeasures(j, want);
    assertThat(j.getLong("nonfinite_rows")).isEqualTo(4L);
  }

  @Test
  void fitRangeOptionIsUsed() throws IOException {
    Result r =
        run(
            "analyze",
            "--json",
            "--fit-range",
            "4:100",
            FIXTURES.resolve("f4_matrix.npy").toString());
    assertThat(r.exit()).isZero();
    JsonObject j = r.json().get(0);
    assertThat(j.getInteger("alpha_fit_first")).isEqualTo(4);
    assertThat(j.getDouble("alpha")).isNotEqualTo(expected("f4_matrix").getDouble("alpha"));
  }

  @Test
  void textOutputNamesEveryMeasure() {
    Result r = run("analyze", FIXTURES.resolve("f4_matrix.npy").toString());
    assertThat(r.exit()).isZero();
    assertThat(r.out())
        .contains("f4_matrix")
        .contains("n=500")
        .contains("d=128")
        .contains("effective_rank=")
        .contains("alpha=")
        .contains("alpha_r2=")
        .contains("participation_ratio=")
        .contains("top1_share=")
        .contains("total_variance=")
        .contains("fit_range=12:100")
        .contains("nonfinite_rows=0");
  }

  @Test
  void smallDimensionSaysWhichFallbackWindowWasFitted() {
    Result r = run("analyze", "--json", FIXTURES.resolve("n_lt_d.npy").toString());
    assertThat(r.exit()).isZero();
    JsonObject j = r.json().get(0);
    assertThat(j.getBoolean("alpha_fit_fallback")).isTrue();
    assertThat(j.getInteger("alpha_fit_last")).isEqualTo(50);
    assertThat(j.getString("alpha_note")).contains("fallback 2:50");
  }

  @ParameterizedTest
  @CsvSource({
    "f4_matrix_fortran.npy, fortran_order",
    "int_matrix.npy, '<i4'",
    "vector.npy, not 2-D",
  })
  void refusedLayoutsAreNamed(String file, String problem) {
    assertOneLineError(run("analyze", FIXTURES.resolve(file).toString()), file, problem);
  }

  @Test
  void missingFileIsReported() {
    Path p = tmp.resolve("nope.npy");
    assertOneLineError(run("analyze", p.toString()), "nope.npy", "no such file");
  }

  @Test
  void brokenFilesGetOneLineEachAndGoodOnesStillPrint() throws IOException {
    byte[] good = Files.readAllBytes(FIXTURES.resolve("f4_matrix.npy"));
    Path empty = write("empty.npy", new byte[0]);
    Path garbage = write("garbage.npy", "this is not numpy".getBytes(StandardCharsets.US_ASCII));
    Path truncated = write("truncated.npy", Arrays.copyOf(good, good.length - 100));
    Path headerOnly = write("header_only.npy", Arrays.copyOf(good, 60));
    Path absurd = write("absurd.npy", absurdNpyHeader());
    Path bigSt = write("absurd.safetensors", absurdSafetensors());
    Path badZip = write("bad.npz", "PK\u0003\u0004garbage".getBytes(StandardCharsets.ISO_8859_1));
    Path stTruncated = write("cut.safetensors", cut(FIXTURES.resolve("two_layers.safetensors")));
    Path npzTruncated = write("cut.npz", cut(FIXTURES.resolve("two_layers.npz")));
    Path wrongExt = write("x.csv", "1,2\n".getBytes(StandardCharsets.US_ASCII));
    Result r =
        run(
            "analyze",
            empty.toString(),
            garbage.toString(),
            truncated.toString(),
            FIXTURES.resolve("f4_matrix.npy").toString(),
            headerOnly.toString(),
            absurd.toString(),
            bigSt.toString(),
            badZip.toString(),
            stTruncated.toString(),
            npzTruncated.toString(),
            wrongExt.toString());
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.out().lines()).hasSize(1).allMatch(l -> l.contains("f4_matrix"));
    List<String> errs = r.err().lines().toList();
    assertThat(errs)
        .hasSize(10)
        .allMatch(l -> l.startsWith("analyze: "))
        .noneMatch(l -> l.contains("\tat "));
    assertThat(errs.get(0)).contains("empty.npy").contains("empty file");
    assertThat(errs.get(1)).contains("garbage.npy").contains("bad magic");
    assertThat(errs.get(2)).contains("truncated.npy").contains("truncated");
    assertThat(errs.get(3)).contains("header_only.npy").contains("truncated");
    assertThat(errs.get(4)).contains("absurd.npy").contains("exceeds limit 65536");
    assertThat(errs.get(5)).contains("absurd.safetensors").contains("header length");
    assertThat(errs.get(6)).contains("bad.npz").contains("zip");
    assertThat(errs.get(7)).contains("cut.safetensors").contains("truncated");
    assertThat(errs.get(8)).contains("cut.npz");
    assertThat(errs.get(9)).contains("x.csv").contains("extension");
  }

  @Test
  void fdWithMoreRowsThanTheMatrixGivesTheExactMeasures() throws IOException {
    Result r =
        run(
            "analyze",
            "--json",
            "--sketch",
            "fd",
            "--rows",
            "600",
            FIXTURES.resolve("f4_matrix.npy").toString());
    assertThat(r.err()).isEmpty();
    JsonObject j = r.json().get(0);
    assertThat(j.getString("sketch")).isEqualTo("fd");
    assertMeasures(j, expected("f4_matrix"), 1e-6);
  }

  @Test
  void fdBoundsContainTheExactNumpyValues() throws IOException {
    Result r =
        run(
            "analyze",
            "--json",
            "--sketch",
            "fd",
            "--rows",
            "64",
            FIXTURES.resolve("f4_matrix.npy").toString());
    assertThat(r.err()).isEmpty();
    assertThat(r.exit()).isZero();
    JsonObject j = r.json().get(0);
    JsonObject want = expected("f4_matrix");
    // ℓ = 64 < 100: the sketch has too few eigenvalues for 12:100; compare RankMe and the totals.
    assertThat(j.getDouble("total_variance"))
        .isCloseTo(
            want.getDouble("total_variance"), within(1e-6 * want.getDouble("total_variance")));
    assertThat(want.getDouble("effective_rank"))
        .isBetween(j.getDouble("effective_rank_low"), j.getDouble("effective_rank_high"));
    assertThat(j.getDouble("dropped_variance")).isPositive();
    assertThat(j.getDouble("effective_rank_error_bound")).isPositive();
    Result text =
        run(
            "analyze",
            "--sketch",
            "fd",
            "--rows",
            "64",
            FIXTURES.resolve("f4_matrix.npy").toString());
    assertThat(text.out()).contains("effective_rank_bounds=[").contains("alpha_bounds=[");
  }

  @Test
  void aSampleHoldingEveryRowGivesTheNumpyValuesAndNoError() throws IOException {
    Result r =
        run(
            "analyze",
            "--json",
            "--sketch",
            "sample",
            FIXTURES.resolve("f4_matrix.npy").toString());
    assertThat(r.err()).isEmpty();
    JsonObject j = r.json().get(0);
    assertThat(j.getString("sketch")).isEqualTo("sample");
    assertThat(j.getLong("rows_seen")).isEqualTo(500L);
    assertMeasures(j, expected("f4_matrix"));
    assertThat(j.getDouble("effective_rank_rel_error")).isCloseTo(0.0, within(1e-9));
    assertThat(j.getDouble("alpha_error")).isCloseTo(0.0, within(1e-9));
  }

  @Test
  void theFloat32CoMomentGivesTheNumpyValuesAndReportsItsErrorAgainstTheDoubleOne()
      throws IOException {
    Result r =
        run(
            "analyze",
            "--json",
            "--sketch",
            "exact32",
            FIXTURES.resolve("f4_matrix.npy").toString());
    assertThat(r.err()).isEmpty();
    assertThat(r.exit()).isZero();
    JsonObject j = r.json().get(0);
    assertThat(j.getString("sketch")).isEqualTo("exact32");
    assertThat(j.getLong("rows_seen")).isEqualTo(500L);
    // float32 storage of the co-moment: numpy's values to 1e-5, the summary's own error reported.
    assertMeasures(j, expected("f4_matrix"), 1e-5);
    assertThat(j.getDouble("effective_rank_rel_error")).isNotNull().isCloseTo(0.0, within(1e-5));
    assertThat(j.getDouble("alpha_error")).isNotNull().isCloseTo(0.0, within(1e-5));
  }

  @Test
  void aSketchReportsItsOwnErrorAgainstTheExactValues() throws IOException {
    JsonObject want = expected("f4_matrix");
    Result sample =
        run(
            "analyze",
            "--json",
            "--sketch",
            "sample",
            "--sample-rows",
            "200",
            FIXTURES.resolve("f4_matrix.npy").toString());
    JsonObject j = sample.json().get(0);
    assertThat(j.getLong("window_samples")).isEqualTo(200L);
    assertThat(j.getLong("rows_seen")).isEqualTo(500L);
    // The reference is numpy's computation on all 500 rows; the error is the sample's distance.
    assertThat(j.getDouble("effective_rank_exact"))
        .isCloseTo(
            want.getDouble("effective_rank"), within(1e-8 * want.getDouble("effective_rank")));
    assertThat(j.getDouble("alpha_exact")).isCloseTo(want.getDouble("alpha"), within(1e-8));
    assertThat(j.getDouble("effective_rank_rel_error"))
        .isCloseTo(
            j.getDouble("effective_rank") / want.getDouble("effective_rank") - 1, within(1e-8))
        .isNotZero();
    assertThat(j.getDouble("alpha_error"))
        .isCloseTo(j.getDouble("alpha") - want.getDouble("alpha"), within(1e-8));

    JsonObject fd =
        run(
                "analyze",
                "--json",
                "--sketch",
                "fd",
                "--rows",
                "64",
                FIXTURES.resolve("f4_matrix.npy").toString())
            .json()
            .get(0);
    assertThat(fd.getDouble("effective_rank_rel_error"))
        .isCloseTo(
            fd.getDouble("effective_rank") / want.getDouble("effective_rank") - 1, within(1e-8));
    Result text =
        run(
            "analyze",
            "--sketch",
            "sample",
            "--sample-rows",
            "200",
            FIXTURES.resolve("f4_matrix.npy").toString());
    assertThat(text.out()).contains("rows_seen=500").contains("effective_rank_rel_error=");
    // The exact default reports no error of its own.
    JsonObject exact =
        run("analyze", "--json", FIXTURES.resolve("f4_matrix.npy").toString()).json().get(0);
    assertThat(exact.getValue("effective_rank_rel_error")).isNull();
    assertThat(exact.getString("sketch")).isEqualTo("exact");
  }

  @Test
  void wideMatricesNeedTheSketch() throws IOException {
    int d = 5000;
    String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, " + d + "), }";
    String header = dict + " ".repeat((64 - (10 + dict.length() + 1) % 64) % 64) + "\n";
    ByteBuffer b =
        ByteBuffer.allocate(10 + header.length() + 3 * d * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0})
        .putShort((short) header.length());
    b.put(header.getBytes(StandardCharsets.ISO_8859_1));
    for (int i = 0; i < 3 * d; i++) {
      b.putFloat((float) Math.sin(i));
    }
    Path wide = write("wide.npy", b.array());
    assertOneLineError(run("analyze", wide.toString()), "wide.npy", "exceeds the exact limit 4096");
    Result fd = run("analyze", "--json", "--sketch", "fd", "--rows", "8", wide.toString());
    assertThat(fd.err()).isEmpty();
    assertThat(fd.json().get(0).getInteger("dimension")).isEqualTo(d);
    assertThat(fd.json().get(0).getLong("window_samples")).isEqualTo(3L);
  }

  @Test
  void badFitRangeIsAUsageError() {
    Result r = run("analyze", "--fit-range", "50:10", FIXTURES.resolve("f4_matrix.npy").toString());
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("50:10");
  }

  private static byte[] cut(Path p) throws IOException {
    byte[] all = Files.readAllBytes(p);
    return Arrays.copyOf(all, all.length / 2);
  }

  private Path write(String name, byte[] bytes) throws IOException {
    Path p = tmp.resolve(name);
    Files.write(p, bytes);
    return p;
  }

  /** A v2 header that claims 4 GiB of header text. */
  private static byte[] absurdNpyHeader() {
    ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
    b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0});
    b.putInt(0xfffffff0);
    return b.array();
  }

  private static byte[] absurdSafetensors() {
    ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(1L << 40);
    b.put("{\"a\":1}".getBytes(StandardCharsets.US_ASCII));
    return b.array();
  }

  private static void assertOneLineError(Result r, String file, String problem) {
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.out()).isEmpty();
    assertThat(r.err().lines()).hasSize(1);
    assertThat(r.err()).startsWith("analyze: ").contains(file).contains(problem);
  }
}
