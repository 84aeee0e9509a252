package io.phasewatch.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.phasewatch.collector.cli.Main;
import io.phasewatch.collector.json.MeasuresJson;
import io.phasewatch.collector.phase.Phase;
import io.phasewatch.collector.phase.PhaseTransition;
import io.phasewatch.collector.service.CollectorService;
import io.phasewatch.core.arrays.MatrixFiles;
import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.core.wire.SnapshotCodec;
import io.phasewatch.core.wire.SnapshotMetadata;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.Stage;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * docs/http-api.md is the contract of every JSON output: the four that phasewatch writes — the HTTP
 * API, {@code analyze --json}, the demo's {@code summary.json} and the fields the live page reads —
 * name only documented fields, and the same rows give the same value under the same name in each.
 * One real collector (KRaft broker, {@link CollectorService}) serves the rows of a fixture matrix;
 * {@code analyze} reads the same file.
 */
class JsonContractIT {

  private static final Path MATRIX =
      Path.of("..", "collector", "src", "test", "resources", "fixtures", "f4_matrix.npy");
  private static final Path DOC = Path.of("..", "docs", "http-api.md");
  private static final Path PAGE =
      Path.of("..", "collector", "src", "main", "resources", "webroot", "phasewatch.js");
  private static final String RUN = "contract";
  private static final String LAYER = "final_norm";
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  /** The doc's tables: section heading ("A point…", "A transition…") → field → metric column. */
  private static Map<String, Map<String, String>> documentedFields() throws Exception {
    Map<String, Map<String, String>> out = new LinkedHashMap<>();
    String section = null;
    Pattern row = Pattern.compile("^\\| `([a-z0-9_]+)` \\| [^|]+ \\| ([^|]+) \\|");
    for (String line : Files.readAllLines(DOC, StandardCharsets.UTF_8)) {
      if (line.startsWith("### ")) {
        section = line.substring(4);
        out.put(section, new LinkedHashMap<>());
      }
      Matcher m = row.matcher(line);
      if (section != null && m.find()) {
        out.get(section).put(m.group(1), m.group(2).trim());
      }
    }
    return out;
  }

  private static Map<String, String> section(
      Map<String, Map<String, String>> doc, String startsWith) {
    return doc.entrySet().stream()
        .filter(e -> e.getKey().startsWith(startsWith))
        .findFirst()
        .orElseThrow(() -> new AssertionError("docs/http-api.md has no section " + startsWith))
        .getValue();
  }

  @Test
  void everyJsonOutputUsesTheDocumentedNamesWithTheSameValues() throws Exception {
    Map<String, Map<String, String>> doc = documentedFields();
    Map<String, String> pointFields = section(doc, "A point");
    Map<String, String> transitionFields = section(doc, "A transition");

    // A documented metric column names a real metric, and the field is that metric's name
    // without "phasewatch_" (the rule docs/http-api.md states).
    String metricsDoc = Files.readString(Path.of("..", "docs", "metrics.md"));
    pointFields.forEach(
        (field, metric) -> {
          Matcher m = Pattern.compile("`(phasewatch_[a-z0-9_]+)`").matcher(metric);
          if (m.find() && !field.equals("step") && !field.equals("window_timestamp_seconds")) {
            assertThat(m.group(1)).as(field).isEqualTo("phasewatch_" + field);
          }
          if (m.find(0)) {
            assertThat(metricsDoc).as(metric).contains("`" + m.group(1) + "`");
          }
        });

    String topic = "json-contract";
    try (CollectorOnBroker stack = CollectorOnBroker.start(topic)) {
      CollectorService collector = stack.collector();

      // The fixture's rows, as an agent would send them: one exact window at step 40.
      MatrixFiles.Matrix matrix = MatrixFiles.readAll(MATRIX, 1 << 20).get(0);
      ExactSummary summary = ExactSummary.ofDimension(matrix.info().cols());
      summary.update(matrix.data(), Math.toIntExact(matrix.info().rows()));
      SnapshotRecord record =
          new SnapshotRecord(
              new SnapshotMetadata(
                  RUN, Stage.PRETRAIN, 0, 1, LAYER, 40, 40, 0, System.currentTimeMillis(), 0),
              summary.snapshot());
      Properties p = new Properties();
      p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
      p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
      p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
      try (var producer = new KafkaProducer<byte[], byte[]>(p)) {
        for (byte[] v : SnapshotCodec.encode(record, SnapshotCodec.DEFAULT_MAX_RECORD_BYTES)) {
          var r =
              new ProducerRecord<>(
                  topic, null, record.metadata().key().getBytes(StandardCharsets.UTF_8), v);
          r.headers()
              .add(
                  SnapshotCodec.CONTENT_TYPE_HEADER,
                  SnapshotCodec.CONTENT_TYPE.getBytes(StandardCharsets.UTF_8));
          producer.send(r).get(30, TimeUnit.SECONDS);
        }
      }
      CollectorService c = collector;
      String seriesPath = "/api/runs/" + RUN + "/layers/" + LAYER + "/series";
      await().atMost(Duration.ofSeconds(60)).until(() -> get(c, seriesPath).statusCode() == 200);

      // Every documented endpoint answers, JSON ones with JSON.
      for (String endpoint : documentedEndpoints()) {
        HttpResponse<String> r = get(c, endpoint.replace("{run}", RUN).replace("{layer}", LAYER));
        assertThat(r.statusCode()).as(endpoint).isEqualTo(200);
        String type = r.headers().firstValue("content-type").orElse("");
        if (endpoint.startsWith("/api") || endpoint.startsWith("/health")) {
          assertThat(type).as(endpoint).isEqualTo("application/json");
          new JsonObject(r.body());
        }
      }
      assertThat(get(c, "/api/runs/" + RUN + "/layers/nope/series").statusCode()).isEqualTo(404);

      // 1. The HTTP API: a point has exactly the documented point fields.
      JsonObject series = new JsonObject(get(c, seriesPath).body());
      JsonObject point = series.getJsonArray("points").getJsonObject(0);
      assertThat(point.fieldNames()).containsExactlyInAnyOrderElementsOf(pointFields.keySet());
      JsonObject listed =
          new JsonObject(get(c, "/api/runs").body())
              .getJsonArray("runs")
              .getJsonObject(0)
              .getJsonArray("layers")
              .getJsonObject(0);
      Set<String> withLayer = new TreeSet<>(pointFields.keySet());
      withLayer.add("layer");
      assertThat(listed.fieldNames()).containsExactlyInAnyOrderElementsOf(withLayer);
      assertThat(new JsonObject(get(c, "/api/events").body()).getJsonArray("events")).isEmpty();
      // A transition (none happen on one window) is written by the same class the API uses.
      JsonObject transition =
          MeasuresJson.transition(
              new PhaseTransition(
                  RUN,
                  LAYER,
                  Stage.PRETRAIN,
                  Phase.STEADY,
                  Phase.ENTROPY_SEEKING,
                  40,
                  25,
                  0.1,
                  -0.1,
                  30,
                  1.0));
      assertThat(transition.fieldNames())
          .containsExactlyInAnyOrderElementsOf(transitionFields.keySet());

      // 2. analyze --json on the same rows: only point fields (plus its own file, name,
      // dropped_variance), and every shared field holds the API's value.
      StringWriter out = new StringWriter();
      var cli = Main.commandLine();
      cli.setOut(new PrintWriter(out));
      assertThat(cli.execute("analyze", "--json", MATRIX.toString())).isZero();
      JsonObject analyzed = new JsonObject(out.toString().strip());
      Set<String> analyzeOwn =
          Set.of(
              "file",
              "name",
              "dropped_variance",
              "rows_seen",
              "effective_rank_exact",
              "alpha_exact",
              "effective_rank_rel_error",
              "alpha_error");
      Set<String> shared = new LinkedHashSet<>(analyzed.fieldNames());
      shared.removeAll(analyzeOwn);
      assertThat(pointFields.keySet()).containsAll(shared);
      assertThat(shared)
          .contains(
              "effective_rank", "alpha", "alpha_fit_r2", "window_samples", "top1_variance_share");
      for (String f : shared) {
        assertSame(f, analyzed.getValue(f), point.getValue(f));
      }

      // 3. summary.json, built from the same collector as the demo builds it.
      JsonObject report = DemoCommand.report(collector, RUN, new JsonObject()).toJson();
      JsonObject reported =
          report.getJsonArray("layers").getJsonObject(0).getJsonArray("series").getJsonObject(0);
      assertThat(pointFields.keySet()).containsAll(reported.fieldNames());
      for (String f : reported.fieldNames()) {
        assertSame(f, reported.getValue(f), point.getValue(f));
      }

      // 4. The live page reads only documented fields of points, layers and events.
      String js = Files.readString(PAGE);
      Matcher reads = Pattern.compile("\\b(?:p|info|e)\\.([a-z_][a-z0-9_]*)\\b").matcher(js);
      Set<String> read = new TreeSet<>();
      while (reads.find()) {
        read.add(reads.group(1));
      }
      Set<String> known = new TreeSet<>(withLayer);
      known.addAll(transitionFields.keySet());
      known.addAll(section(doc, "A training point").keySet());
      // Fields of the page's own objects (pointsOf maps step, rank, alpha, r2, phase, stage) and
      // of a DOM event (e.target).
      known.addAll(List.of("rank", "r2", "target"));
      assertThat(known).as("fields phasewatch.js reads").containsAll(read);
      assertThat(read).contains("effective_rank", "alpha_fit_r2", "phase_since_step");
    }
  }

  /** The endpoint table's first column, e.g. {@code /api/runs/{run}/layers/{layer}/series}. */
  private static List<String> documentedEndpoints() throws Exception {
    return Files.readAllLines(DOC, StandardCharsets.UTF_8).stream()
        .filter(l -> l.startsWith("| `GET "))
        .map(l -> l.substring(7, l.indexOf('`', 7)))
        .toList();
  }

  @Test
  void everyRouteOfTheCollectorIsDocumented() throws Exception {
    List<String> documented = documentedEndpoints();
    assertThat(documented)
        .containsExactly(
            "/metrics",
            "/health/live",
            "/health/ready",
            "/api/runs",
            "/api/runs/{run}/layers/{layer}/series",
            "/api/runs/{run}/training",
            "/api/events",
            "/");
    // Every route the verticle registers is in the table.
    String verticle =
        Files.readString(
            Path.of(
                "../collector/src/main/java/io/phasewatch/collector/http/HttpApiVerticle.java"));
    Matcher routes = Pattern.compile("\\.get\\(\"(/[^\"]*)\"\\)").matcher(verticle);
    while (routes.find()) {
      String route = routes.group(1).replaceAll(":([a-z]+)", "{$1}").replace("/*", "/");
      assertThat(documented)
          .as("route " + routes.group(1) + " in docs/http-api.md")
          .contains(route);
    }
  }

  /** The same JSON value: numbers by value (an int and a long of 40 are the same 40). */
  private static void assertSame(String field, Object got, Object want) {
    if (got instanceof Number g && want instanceof Number w) {
      assertThat(g.doubleValue()).as(field).isEqualTo(w.doubleValue());
    } else {
      assertThat(got).as(field).isEqualTo(want);
    }
  }

  private static HttpResponse<String> get(CollectorService c, String path) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + c.httpPort() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
