package io.phasewatch.agent.spool;

import static io.phasewatch.agent.spool.SpoolFiles.handOver;
import static io.phasewatch.agent.spool.SpoolFiles.npy;
import static io.phasewatch.agent.spool.SpoolFiles.rows;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.phasewatch.core.sketch.CovarianceSnapshot;
import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.core.sketch.RowSampleSnapshot;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.testkit.KafkaBroker;
import io.phasewatch.testkit.SnapshotReader;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The sidecar in-process against a real single-node KRaft broker. */
class SpoolSidecarIT {
  @RegisterExtension static final KafkaBroker KAFKA = KafkaBroker.perClass();

  @TempDir Path spool;

  private SidecarConfig config(String topic) {
    Map<String, String> flags = new HashMap<>();
    flags.put("spool.dir", spool.toString());
    flags.put("spool.scan-interval", "200ms");
    flags.put("kafka.bootstrap.servers", KAFKA.bootstrapServers());
    flags.put("kafka.linger.ms", "0");
    flags.put("publish.topic", topic);
    // Small records make the 40 × 24 row sample travel in chunks.
    flags.put("publish.max-record-bytes", "2KiB");
    flags.put("sketch.exact-max-dim", "16");
    flags.put("sketch.exact32-max-dim", "16"); // wider layers: the row sample, not the float32 form
    return SidecarConfig.load("", Map.of(), flags);
  }

  private static CovarianceSnapshot direct(float[] r, int n, int d) {
    if (d <= 16) {
      ExactSummary s = ExactSummary.ofDimension(d);
      s.update(r, n);
      return s.snapshot();
    }
    // Wider layers get the default route's row sample: all n rows fit its capacity.
    return new RowSampleSnapshot(1024, d, Arrays.copyOf(r, n * d), n, 0);
  }

  private static String keyOf(SnapshotRecord r) {
    return r.metadata().layer() + "@" + r.metadata().step() + "#" + r.metadata().rank();
  }

  @Test
  void spooledFilesArriveAsTheSketchesOfTheirRowsAndARestartSendsNothingTwice() throws Exception {
    String topic = "spooled";
    KAFKA.createTopic(topic);
    Map<String, CovarianceSnapshot> expected = new LinkedHashMap<>();
    for (int step = 10; step <= 30; step += 10) {
      for (int rank = 0; rank < 2; rank++) {
        float[] small = rows(step + rank, 20, 4);
        handOver(
            spool,
            "run=r1,stage=sft,rank=" + rank + ",world=2,layer=layers.0,step=" + step + ".npy",
            npy(20, 4, small));
        expected.put("layers.0@" + step + "#" + rank, direct(small, 20, 4));
        float[] wide = rows(100 + step + rank, 40, 24);
        handOver(
            spool,
            "run=r1,stage=sft,rank=" + rank + ",world=2,layer=final_norm,step=" + step + ".npy",
            npy(40, 24, wide));
        expected.put("final_norm@" + step + "#" + rank, direct(wide, 40, 24));
      }
    }
    var registry = new SimpleMeterRegistry();
    try (var sidecar = SpoolSidecar.withKafka(config(topic), registry).start()) {
      List<SnapshotRecord> got =
          KAFKA.read(topic, SnapshotReader.atLeast(expected.size()), Duration.ofSeconds(60));
      assertThat(got).hasSize(expected.size());
      Map<String, CovarianceSnapshot> byKey = new LinkedHashMap<>();
      for (SnapshotRecord r : got) {
        assertThat(r.metadata().runId()).isEqualTo("r1");
        assertThat(r.metadata().worldSize()).isEqualTo(2);
        assertThat(r.metadata().windowId()).isEqualTo(r.metadata().step());
        byKey.put(keyOf(r), r.snapshot());
      }
      assertThat(byKey).isEqualTo(expected);
      assertThat(sidecar.summary()).contains("done 12 files");
    }

    // A second sidecar over the same spool: one new file arrives, nothing old is sent again.
    float[] later = rows(40, 20, 4);
    handOver(
        spool, "run=r1,stage=sft,rank=0,world=2,layer=layers.0,step=40.npy", npy(20, 4, later));
    try (var again = SpoolSidecar.withKafka(config(topic), new SimpleMeterRegistry()).start()) {
      List<SnapshotRecord> all =
          KAFKA.read(
              topic,
              SnapshotReader.atLeast(expected.size() + 1),
              Duration.ofSeconds(60),
              Duration.ofSeconds(3));
      assertThat(all).hasSize(expected.size() + 1);
      assertThat(all.get(all.size() - 1).snapshot()).isEqualTo(direct(later, 20, 4));
      assertThat(again.summary()).contains("done 1 files");
    }
  }

  @Test
  void snapshotsHandedOverWhileTheBrokerIsUnreachableWaitInTheOutboxAcrossARestart()
      throws Exception {
    String topic = "outbox";
    KAFKA.createTopic(topic);
    float[] r = rows(5, 10, 3);
    handOver(spool, "run=r2,layer=x,step=5.npy", npy(10, 3, r));
    // First run: a broker address nobody listens on; the file is journaled into the outbox.
    Map<String, String> flags = new HashMap<>();
    flags.put("spool.dir", spool.toString());
    flags.put("kafka.bootstrap.servers", "127.0.0.1:1");
    flags.put("publish.topic", topic);
    var registry = new SimpleMeterRegistry();
    var offline = SpoolSidecar.withKafka(SidecarConfig.load("", Map.of(), flags), registry);
    assertThat(offline.drainOnce()).isEqualTo(1);
    // The same on the metrics endpoint, as Prometheus would scrape it.
    try (var endpoint = MetricsEndpoint.start(registry, "127.0.0.1", 0)) {
      var http = java.net.http.HttpClient.newHttpClient();
      var response =
          http.send(
              java.net.http.HttpRequest.newBuilder(
                      java.net.URI.create("http://127.0.0.1:" + endpoint.port() + "/metrics"))
                  .build(),
              java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body().lines())
          .contains(
              "phasewatch_agent_publish_pending 1",
              "phasewatch_sidecar_pending_files 0",
              "phasewatch_sidecar_files_done_total 1");
      var post =
          http.send(
              java.net.http.HttpRequest.newBuilder(
                      java.net.URI.create("http://127.0.0.1:" + endpoint.port() + "/metrics"))
                  .POST(java.net.http.HttpRequest.BodyPublishers.noBody())
                  .build(),
              java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(post.statusCode()).isEqualTo(405);
    }
    // The spool is empty, the snapshot waits in the publisher's outbox: the summary says so.
    assertThat(offline.summary())
        .contains("pending 0 files")
        .contains("outbox 1 snapshots")
        .contains("sent 0");
    offline.close(Duration.ofMillis(200));
    assertThat(spool.resolve("run=r2,layer=x,step=5.npy")).doesNotExist();

    // Second run with the broker: the outbox delivers it, exactly once.
    try (var online = SpoolSidecar.withKafka(config(topic), new SimpleMeterRegistry()).start()) {
      List<SnapshotRecord> got =
          KAFKA.read(
              topic, SnapshotReader.atLeast(1), Duration.ofSeconds(60), Duration.ofSeconds(2));
      assertThat(got).hasSize(1);
      assertThat(got.get(0).snapshot()).isEqualTo(direct(r, 10, 3));
      assertThat(online.summary()).contains("done 0 files");
    }
  }
}
