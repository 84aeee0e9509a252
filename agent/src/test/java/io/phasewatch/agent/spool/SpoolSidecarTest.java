package io.phasewatch.agent.spool;

import static io.phasewatch.agent.spool.SpoolFiles.handOver;
import static io.phasewatch.agent.spool.SpoolFiles.npy;
import static io.phasewatch.agent.spool.SpoolFiles.rows;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.phasewatch.agent.publish.SnapshotPublisher;
import io.phasewatch.core.sketch.ExactSnapshot;
import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.core.sketch.Float32Moment;
import io.phasewatch.core.sketch.RowSample;
import io.phasewatch.core.sketch.RowSampleSnapshot;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.Stage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SpoolSidecarTest {
  @TempDir Path spool;

  private final MeterRegistry registry = new SimpleMeterRegistry();
  private final Capture published = new Capture();

  /** Keeps what the sidecar hands over; a broker is exercised in SpoolSidecarIT. */
  static final class Capture implements SnapshotPublisher {
    final List<SnapshotRecord> records = new ArrayList<>();
    boolean closed;

    @Override
    public void publish(SnapshotRecord record) {
      records.add(record);
    }

    @Override
    public void close(Duration drainTimeout) {
      closed = true;
    }
  }

  private SpoolSidecar sidecar(String... flags) throws Exception {
    Map<String, String> f = new LinkedHashMap<>();
    f.put("spool.dir", spool.toString());
    for (String kv : flags) {
      f.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
    }
    return SpoolSidecar.withPublisher(SidecarConfig.load("", Map.of(), f), published, registry);
  }

  private double rejected(String reason) {
    var c = registry.find("phasewatch.sidecar.files.rejected").tag("reason", reason).counter();
    return c == null ? 0 : c.count();
  }

  private double counter(String name) {
    var c = registry.find(name).counter();
    return c == null ? 0 : c.count();
  }

  private String reasonOf(String name) throws Exception {
    assertThat(spool.resolve("rejected").resolve(name)).exists();
    assertThat(spool.resolve(name)).doesNotExist();
    return Files.readString(spool.resolve("rejected").resolve(name + ".reason"));
  }

  private static ExactSnapshot exactOf(float[] rows, int n, int d) {
    ExactSummary s = ExactSummary.ofDimension(d);
    s.update(rows, n);
    return s.snapshot();
  }

  @Test
  void aFilesRowsArePublishedAsTheSketchOfThoseRowsWithTheNamesMetadata() throws Exception {
    float[] r = rows(7, 20, 6);
    String name = "run=exp%2F7x,stage=sft,rank=1,world=4,layer=model.norm,step=7,tokens=900.npy";
    handOver(spool, name.replace("%2F", "-"), npy(20, 6, r));
    try (var s = sidecar()) {
      assertThat(s.drainOnce()).isEqualTo(1);
    }
    assertThat(published.records).hasSize(1);
    SnapshotRecord rec = published.records.get(0);
    assertThat(rec.metadata().runId()).isEqualTo("exp-7x");
    assertThat(rec.metadata().stage()).isEqualTo(Stage.SFT);
    assertThat(rec.metadata().rank()).isEqualTo(1);
    assertThat(rec.metadata().worldSize()).isEqualTo(4);
    assertThat(rec.metadata().layer()).isEqualTo("model.norm");
    assertThat(rec.metadata().step()).isEqualTo(7);
    assertThat(rec.metadata().windowId()).isEqualTo(7);
    assertThat(rec.metadata().tokensSeen()).isEqualTo(900);
    assertThat(rec.snapshot()).isEqualTo(exactOf(r, 20, 6));
    assertThat(published.closed).isTrue();
    try (var files = Files.list(spool)) {
      assertThat(files.filter(p -> !p.getFileName().toString().startsWith(".")))
          .as("the published file is deleted")
          .isEmpty();
    }
    assertThat(counter("phasewatch.sidecar.files.done")).isEqualTo(1);
    assertThat(counter("phasewatch.sidecar.rows.folded")).isEqualTo(20);
  }

  @ParameterizedTest
  @ValueSource(strings = {"f8_spread_1e-9_of_mean", "f8_beyond_float_range"})
  void float64FilesKeepTheirPrecisionAndRange(String fixture) throws Exception {
    // Written by scripts/make_spectrum_fixtures.py, with numpy's total variance (trace of np.cov):
    // 1000 + 1e-6·g (a spread far below a float's resolution of 1000) and g·1e39 (beyond a
    // float's range). Narrowed to float32 the first reads as constant, the second as all Inf.
    Path dir = Path.of("src/test/resources/fixtures");
    handOver(spool, "run=r,layer=f8,step=1.npy", Files.readAllBytes(dir.resolve(fixture + ".npy")));
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("\"total_variance_trace\": ([-+0-9.eE]+)")
            .matcher(Files.readString(dir.resolve(fixture + ".json")));
    assertThat(m.find()).isTrue();
    double numpy = Double.parseDouble(m.group(1));
    try (var s = sidecar()) {
      assertThat(s.drainOnce()).isEqualTo(1);
    }
    ExactSnapshot snap = (ExactSnapshot) published.records.get(0).snapshot();
    assertThat(snap.nonFiniteRows()).isZero();
    assertThat(snap.count()).isEqualTo(400);
    double trace = 0;
    for (int i = 0; i < snap.dimension(); i++) {
      trace += snap.comoment()[i * snap.dimension() + i];
    }
    assertThat(trace / (snap.count() - 1)).isCloseTo(numpy, within(1e-7 * numpy));
  }

  @Test
  void layersPastTheExactWidthGetTheFloat32CoMomentAsTheAgentConfigSays() throws Exception {
    float[] r = rows(1, 30, 12);
    handOver(spool, "run=r,layer=mid,step=1.npy", npy(30, 12, r));
    try (var s = sidecar("sketch.exact-max-dim=8")) {
      s.drainOnce();
    }
    Float32Moment moment = Float32Moment.ofDimension(12);
    moment.update(r, 30);
    assertThat(published.records.get(0).snapshot()).isEqualTo(moment.snapshot());
  }

  @Test
  void wideLayersGetTheRowSampleAsTheAgentConfigSays() throws Exception {
    float[] r = rows(1, 30, 12);
    handOver(spool, "run=r,layer=wide,step=1.npy", npy(30, 12, r));
    try (var s =
        sidecar("sketch.exact-max-dim=8", "sketch.exact32-max-dim=10", "sketch.sample-rows=16")) {
      s.drainOnce();
    }
    // One rank (the name gives no world size): all 16 rows of the window's sample are its own.
    RowSample sample = RowSample.withCapacity(16, 12);
    sample.update(r, 30);
    RowSampleSnapshot got = (RowSampleSnapshot) published.records.get(0).snapshot();
    assertThat(got).isEqualTo(sample.snapshot());
    assertThat(got.count()).isEqualTo(16);
    assertThat(got.seenRows()).isEqualTo(30);
  }

  @Test
  void anNpzFileIsOneWindowPerArrayNamedByTheArray() throws Exception {
    float[] a = rows(2, 5, 3);
    float[] b = rows(3, 8, 4);
    var arrays = new LinkedHashMap<String, byte[]>();
    arrays.put("layers.0", npy(5, 3, a));
    arrays.put("final_norm", npy(8, 4, b));
    handOver(spool, "run=r,step=2.npz", SpoolFiles.npz(arrays));
    try (var s = sidecar()) {
      s.drainOnce();
    }
    assertThat(published.records)
        .extracting(x -> x.metadata().layer())
        .containsExactly("layers.0", "final_norm");
    assertThat(published.records.get(0).snapshot()).isEqualTo(exactOf(a, 5, 3));
    assertThat(published.records.get(1).snapshot()).isEqualTo(exactOf(b, 8, 4));
  }

  @Test
  void aSafetensorsFileIsOneWindowPerTensor() throws Exception {
    float[] a = rows(6, 4, 3);
    String header =
        "{\"__metadata__\":{\"format\":\"pt\"},"
            + "\"final_norm\":{\"dtype\":\"F32\",\"shape\":[4,3],\"data_offsets\":[0,48]}}";
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    var buf =
        java.nio.ByteBuffer.allocate(8 + h.length + 48).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    buf.putLong(h.length).put(h);
    for (float v : a) {
      buf.putFloat(v);
    }
    handOver(spool, "run=r,stage=dpo,step=6.safetensors", buf.array());
    try (var s = sidecar()) {
      s.drainOnce();
    }
    assertThat(published.records).hasSize(1);
    assertThat(published.records.get(0).metadata().layer()).isEqualTo("final_norm");
    assertThat(published.records.get(0).metadata().stage()).isEqualTo(Stage.DPO);
    assertThat(published.records.get(0).snapshot()).isEqualTo(exactOf(a, 4, 3));
  }

  @Test
  void aBadArrayAnywhereRejectsTheWholeFile() throws Exception {
    var arrays = new LinkedHashMap<String, byte[]>();
    arrays.put("good", npy(5, 3, rows(2, 5, 3)));
    arrays.put("bad", npy("<f4", true, "(5, 3)", rows(2, 5, 3)));
    handOver(spool, "run=r,step=2.npz", SpoolFiles.npz(arrays));
    try (var s = sidecar()) {
      s.drainOnce();
    }
    assertThat(published.records).isEmpty();
    assertThat(reasonOf("run=r,step=2.npz")).contains("array 'bad'");
  }

  @Test
  void keepDoneMovesPublishedFilesToDone() throws Exception {
    handOver(spool, "run=r,layer=x,step=1.npy", npy(3, 2, rows(1, 3, 2)));
    try (var s = sidecar("spool.keep-done=true")) {
      s.drainOnce();
    }
    assertThat(spool.resolve("done/run=r,layer=x,step=1.npy")).exists();
    assertThat(spool.resolve("run=r,layer=x,step=1.npy")).doesNotExist();
  }

  @Test
  void dotNamesAreNeverRead() throws Exception {
    Files.write(spool.resolve(".run=r,layer=x,step=1.npy.tmp"), new byte[] {1, 2, 3});
    try (var s = sidecar()) {
      assertThat(s.drainOnce()).isZero();
    }
    assertThat(published.records).isEmpty();
    assertThat(spool.resolve(".run=r,layer=x,step=1.npy.tmp")).exists();
  }

  @Test
  void filesAreDrainedOldestStepFirst() throws Exception {
    for (long step : new long[] {30, 10, 20}) {
      handOver(spool, "run=r,layer=x,step=" + step + ".npy", npy(2, 2, rows(step, 2, 2)));
    }
    try (var s = sidecar()) {
      s.drainOnce();
    }
    assertThat(published.records)
        .extracting(x -> x.metadata().step())
        .containsExactly(10L, 20L, 30L);
  }

  @Test
  void badFilesGoToRejectedWithAReasonAndTheGoodOnesStillPublish() throws Exception {
    float[] r = rows(1, 4, 3);
    handOver(
        spool,
        "run=r,layer=garbage,step=1.npy",
        "not an array at all".getBytes(StandardCharsets.UTF_8));
    byte[] whole = npy(4, 3, r);
    handOver(
        spool,
        "run=r,layer=truncated,step=1.npy",
        java.util.Arrays.copyOf(whole, whole.length - 5));
    handOver(spool, "run=r,layer=fortran,step=1.npy", npy("<f4", true, "(4, 3)", r));
    handOver(spool, "run=r,layer=ints,step=1.npy", npy("<i4", false, "(4, 3)", r));
    handOver(spool, "run=r,layer=vector,step=1.npy", npy("<f4", false, "(12,)", r));
    handOver(spool, "run=r,step=1,layer=x.txt", whole);
    handOver(spool, "run=r,layer=wide,step=1.npy", npy(1, 12, r));
    handOver(spool, "run=r,layer=good,step=1.npy", whole);
    try (var s = sidecar("spool.max-columns=8")) {
      s.drainOnce();
    }
    assertThat(published.records).extracting(x -> x.metadata().layer()).containsExactly("good");
    assertThat(reasonOf("run=r,layer=garbage,step=1.npy")).isNotBlank();
    assertThat(reasonOf("run=r,layer=truncated,step=1.npy")).contains("truncated");
    assertThat(reasonOf("run=r,layer=fortran,step=1.npy")).containsIgnoringCase("fortran");
    assertThat(reasonOf("run=r,layer=ints,step=1.npy")).contains("<i4");
    assertThat(reasonOf("run=r,layer=vector,step=1.npy")).contains("not 2-D");
    assertThat(reasonOf("run=r,step=1,layer=x.txt")).contains("unknown extension");
    assertThat(reasonOf("run=r,layer=wide,step=1.npy"))
        .contains("d = 12 columns exceeds spool.max-columns=8");
    assertThat(rejected("array")).isEqualTo(6);
    assertThat(rejected("name")).isEqualTo(1);
  }

  @Test
  void tooLargeFilesAreRejectedUnread() throws Exception {
    handOver(spool, "run=r,layer=x,step=1.npy", npy(100, 10, rows(1, 100, 10)));
    try (var s = sidecar("spool.max-file-bytes=1KiB")) {
      s.drainOnce();
    }
    assertThat(reasonOf("run=r,layer=x,step=1.npy")).contains("exceeds spool.max-file-bytes=1024");
    assertThat(rejected("too_large")).isEqualTo(1);
  }

  @Test
  void bigEndianFloatsAreConvertedNotRejected() throws Exception {
    float[] r = rows(4, 6, 3);
    handOver(spool, "run=r,layer=be,step=1.npy", npy(">f4", false, "(6, 3)", r));
    handOver(spool, "run=r,layer=f8,step=1.npy", npy(">f8", false, "(6, 3)", r));
    try (var s = sidecar()) {
      s.drainOnce();
    }
    assertThat(published.records).hasSize(2);
    for (SnapshotRecord rec : published.records) {
      assertThat(rec.snapshot()).as(rec.metadata().layer()).isEqualTo(exactOf(r, 6, 3));
    }
  }

  @Test
  void nonFiniteRowsAreLeftOutAndCounted() throws Exception {
    float[] r = rows(5, 6, 3);
    r[3] = Float.NaN;
    r[13] = Float.POSITIVE_INFINITY;
    handOver(spool, "run=r,layer=x,step=1.npy", npy(6, 3, r));
    try (var s = sidecar()) {
      s.drainOnce();
    }
    var snap = published.records.get(0).snapshot();
    assertThat(snap.count()).isEqualTo(4);
    assertThat(snap.nonFiniteRows()).isEqualTo(2);
    assertThat(counter("phasewatch.sidecar.rows.nonfinite")).isEqualTo(2);
  }

  @Test
  void aSpoolOverItsByteBoundLosesItsOldestFilesUnread() throws Exception {
    byte[] file = npy(16, 8, rows(1, 16, 8)); // 640 bytes each
    for (int step = 0; step < 10; step++) {
      Path p = handOver(spool, "run=r,layer=x,step=" + step + ".npy", file);
      Files.setLastModifiedTime(p, FileTime.fromMillis(1_000_000L + step));
    }
    try (var s = sidecar("spool.max-bytes=" + 4 * file.length)) {
      s.drainOnce();
    }
    assertThat(published.records)
        .extracting(x -> x.metadata().step())
        .containsExactly(6L, 7L, 8L, 9L);
    var dropped =
        registry
            .find("phasewatch.sidecar.files.dropped")
            .tag("reason", "dropped_backlog")
            .counter();
    assertThat(dropped.count()).isEqualTo(6);
  }

  @Test
  void aFileJournaledBeforeARestartIsCleanedUpWithoutPublishingAgain() throws Exception {
    Path p = handOver(spool, "run=r,layer=x,step=1.npy", npy(3, 2, rows(1, 3, 2)));
    var attrs = Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class);
    // A sidecar that stopped after journaling but before deleting left exactly this behind.
    Files.writeString(
        spool.resolve(SpoolSidecar.JOURNAL),
        p.getFileName() + "\t" + attrs.size() + "\t" + attrs.lastModifiedTime().toMillis() + "\n");
    try (var s = sidecar()) {
      s.drainOnce();
    }
    assertThat(published.records).isEmpty();
    assertThat(p).doesNotExist();
    assertThat(counter("phasewatch.sidecar.files.already.published")).isEqualTo(1);
  }

  @Test
  void aJournaledFileIsNotCountedAsBacklog() throws Exception {
    byte[] file = npy(16, 8, rows(1, 16, 8));
    Path first = handOver(spool, "run=r,layer=x,step=0.npy", file);
    var attrs = Files.readAttributes(first, java.nio.file.attribute.BasicFileAttributes.class);
    Files.writeString(
        spool.resolve(SpoolSidecar.JOURNAL),
        first.getFileName()
            + "\t"
            + attrs.size()
            + "\t"
            + attrs.lastModifiedTime().toMillis()
            + "\n");
    for (int step = 1; step <= 3; step++) {
      handOver(spool, "run=r,layer=x,step=" + step + ".npy", file);
    }
    try (var s = sidecar("spool.max-bytes=" + 3 * file.length)) {
      s.drainOnce();
    }
    assertThat(published.records).extracting(x -> x.metadata().step()).containsExactly(1L, 2L, 3L);
    assertThat(registry.find("phasewatch.sidecar.files.dropped").counter()).isNull();
    assertThat(counter("phasewatch.sidecar.files.already.published")).isEqualTo(1);
  }

  @Test
  void aRewrittenFileOfTheSameNameIsNewData() throws Exception {
    Path p = handOver(spool, "run=r,layer=x,step=1.npy", npy(3, 2, rows(1, 3, 2)));
    Files.writeString(spool.resolve(SpoolSidecar.JOURNAL), p.getFileName() + "\t1\t1\n");
    try (var s = sidecar()) {
      s.drainOnce();
    }
    assertThat(published.records).hasSize(1);
  }

  @Test
  void rejectedFilesAreKeptUpToTheirBound() throws Exception {
    for (int i = 0; i < 5; i++) {
      Path p = handOver(spool, "run=r,layer=x,step=" + i + ".npy", new byte[] {1});
      Files.setLastModifiedTime(p, FileTime.fromMillis(1_000_000L + i));
    }
    try (var s = sidecar("spool.keep-max-files=2")) {
      s.drainOnce();
    }
    try (var files = Files.list(spool.resolve("rejected"))) {
      assertThat(files.map(f -> f.getFileName().toString()).sorted())
          .containsExactly(
              "run=r,layer=x,step=3.npy",
              "run=r,layer=x,step=3.npy.reason",
              "run=r,layer=x,step=4.npy",
              "run=r,layer=x,step=4.npy.reason");
    }
    assertThat(rejected("array")).isEqualTo(5);
  }

  @Test
  void theRunningSidecarPicksUpNewFilesByItself() throws Exception {
    try (var s = sidecar("spool.scan-interval=5s").start()) {
      assertThat(s.summary()).contains("done 0 files");
      handOver(spool, "run=r,layer=x,step=1.npy", npy(3, 2, rows(1, 3, 2)));
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (counter("phasewatch.sidecar.files.done") < 1 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
    }
    assertThat(published.records).hasSize(1);
  }

  @Test
  void publishDisabledSketchesAndCountsWithoutABroker() throws Exception {
    handOver(spool, "run=r,layer=x,step=1.npy", npy(3, 2, rows(1, 3, 2)));
    var config =
        SidecarConfig.load(
            "publish: {enabled: false}\n", Map.of(), Map.of("spool.dir", spool.toString()));
    try (var s = SpoolSidecar.withKafka(config, registry)) {
      assertThat(s.drainOnce()).isEqualTo(1);
    }
    var c =
        registry
            .find("phasewatch.agent.snapshots.dropped")
            .tag("reason", "publish_disabled")
            .counter();
    assertThat(c.count()).isEqualTo(1);
    assertThat(spool.resolve(SpoolSidecar.OUTBOX)).doesNotExist();
  }

  @Test
  void configKnowsItsKeysAndRefusesOthers() {
    var c = SidecarConfig.load("spool:\n  dir: /s\n  max-bytes: 2GiB\n", Map.of(), Map.of());
    assertThat(c.spool().maxBytes()).isEqualTo(2L << 30);
    assertThat(c.spool().keepDone()).isFalse();
    assertThat(c.agent().sketch().exactMaxDim()).isEqualTo(1024);
    var env =
        SidecarConfig.load(
            "spool: {dir: /s}\n", Map.of("PHASEWATCH_SPOOL_KEEP_DONE", "true"), Map.of());
    assertThat(env.spool().keepDone()).isTrue();
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> SidecarConfig.load("spool: {dir: /s, colour: red}\n", Map.of(), Map.of()))
        .hasMessageContaining("unknown key 'spool.colour'");
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> SidecarConfig.load("", Map.of(), Map.of()))
        .hasMessageContaining("spool.dir is required");
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> SidecarConfig.load("spool: {dir: /s}\nwindow: {stepz: 3}\n", Map.of(), Map.of()))
        .hasMessageContaining("window.stepz");
  }
}
