package io.phasewatch.agent.djl.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.phasewatch.agent.cli.Main;
import io.phasewatch.agent.config.AgentConfig;
import io.phasewatch.agent.config.AgentConfigLoader;
import io.phasewatch.agent.core.PhasewatchAgent;
import io.phasewatch.core.sketch.ExactSnapshot;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.testkit.KafkaBroker;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * TorchScript checkpoints written by a real PyTorch (Debian's python3-torch) during the test,
 * probed through DJL, published to a real KRaft broker; the snapshots' means are checked against
 * the last-token states torch itself computes for the same probe.
 */
class CheckpointWatcherIT {

  private static final String PYTHON = "/usr/bin/python3.11";
  private static final int PROBE_SEQUENCES = 20;

  @RegisterExtension static final KafkaBroker KAFKA = KafkaBroker.perClass();

  @TempDir Path tmp;

  @BeforeAll
  static void requireTorch() throws Exception {
    var check = new ProcessBuilder(PYTHON, "-c", "import torch").redirectErrorStream(true).start();
    String out = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (check.waitFor() != 0) {
      throw new AssertionError(
          PYTHON
              + " cannot import torch; .ci/run installs python3-torch (apt-get install"
              + " python3-torch) for these tests:\n"
              + out);
    }
  }

  /** Probe sequences of 3 to 9 tokens in [1, 50): the text format, right-padded by the reader. */
  private Path probeFile() throws IOException {
    var rng = new Random(7);
    var sb = new StringBuilder("# probe set of the checkpoint IT\n");
    for (int i = 0; i < PROBE_SEQUENCES; i++) {
      int len = 3 + rng.nextInt(7);
      for (int j = 0; j < len; j++) {
        sb.append(j == 0 ? "" : " ").append(1 + rng.nextInt(49));
      }
      sb.append('\n');
    }
    Path p = tmp.resolve("probe.txt");
    Files.writeString(p, sb.toString(), StandardCharsets.UTF_8);
    return p;
  }

  /** Writes step=STEP.pt into {@code dir}; returns torch's expected means per output name. */
  private Map<String, double[]> checkpoint(Path dir, long step, int seed, Path probe)
      throws Exception {
    Path script = tmp.resolve("write_checkpoint.py");
    if (!Files.exists(script)) {
      try (InputStream in = getClass().getResourceAsStream("/checkpoint/write_checkpoint.py")) {
        Files.copy(in, script);
      }
    }
    Path expected = tmp.resolve("expected-" + step + ".json");
    var p =
        new ProcessBuilder(
                PYTHON,
                script.toString(),
                dir.toString(),
                Long.toString(step),
                Integer.toString(seed),
                probe.toString(),
                expected.toString())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(out).isZero();
    return parseMeans(Files.readString(expected, StandardCharsets.UTF_8));
  }

  /** {@code {"name": [x, …], …}} as written by json.dump. */
  private static Map<String, double[]> parseMeans(String json) {
    Matcher m = Pattern.compile("\"([^\"]+)\":\\s*\\[([^\\]]*)\\]").matcher(json);
    var out = new java.util.HashMap<String, double[]>();
    while (m.find()) {
      String[] parts = m.group(2).split(",");
      double[] v = new double[parts.length];
      for (int i = 0; i < parts.length; i++) {
        v[i] = Double.parseDouble(parts[i].trim());
      }
      out.put(m.group(1), v);
    }
    return out;
  }

  private static void assertMean(SnapshotRecord r, double[] expected) {
    assertThat(r.snapshot()).isInstanceOf(ExactSnapshot.class);
    double[] mean = r.snapshot().mean();
    assertThat(mean).hasSize(expected.length);
    for (int i = 0; i < mean.length; i++) {
      assertThat(mean[i])
          .as("%s mean[%d]", r.metadata().layer(), i)
          .isCloseTo(expected[i], within(1e-5));
    }
  }

  private AgentConfig config(String run, String topic) {
    return AgentConfigLoader.load(
        "run: " + run + "\nsampling: {mode: probe}\npublish: {topic: " + topic + "}\n",
        Map.of(),
        Map.of("kafka.bootstrap.servers", KAFKA.bootstrapServers(), "kafka.linger.ms", "0"));
  }

  @Test
  void eachNewCheckpointIsProbedOnceAndPublishedWithItsStep() throws Exception {
    String topic = "checkpoints";
    KAFKA.createTopic(topic);
    Path dir = Files.createDirectory(tmp.resolve("ckpt"));
    Path probe = probeFile();
    Map<String, double[]> at100 = checkpoint(dir, 100, 1, probe);

    var registry = new SimpleMeterRegistry();
    PhasewatchAgent agent = PhasewatchAgent.start(config("ckpt", topic), registry);
    var watcher =
        CheckpointWatcher.builder(dir, ProbeTokens.read(probe, 0), agent)
            .layers(List.of("1"))
            .batch(8)
            .build(registry);
    var errors = new ArrayList<Throwable>();
    Thread loop =
        new Thread(
            () -> {
              try {
                watcher.run(Duration.ofMillis(200));
              } catch (Throwable t) {
                errors.add(t);
              }
            });
    loop.start();
    try {
      List<SnapshotRecord> first = KAFKA.read(topic, r -> !r.isEmpty(), Duration.ofSeconds(120));
      assertThat(first).hasSize(1);

      // The job writes its next checkpoint while the watcher runs.
      Map<String, double[]> at200 = checkpoint(dir, 200, 2, probe);
      List<SnapshotRecord> got = KAFKA.read(topic, r -> r.size() >= 2, Duration.ofSeconds(120));
      Thread.sleep(1_000);
      got = KAFKA.read(topic, r -> r.size() >= 3, Duration.ofSeconds(2));

      assertThat(got).extracting(r -> r.metadata().step()).containsExactly(100L, 200L);
      for (SnapshotRecord r : got) {
        assertThat(r.metadata().layer()).isEqualTo("1");
        assertThat(r.metadata().runId()).isEqualTo("ckpt");
        assertThat(r.snapshot().dimension()).isEqualTo(12);
        assertThat(r.snapshot().count()).isEqualTo(PROBE_SEQUENCES);
      }
      assertMean(got.get(0), at100.get("1"));
      assertMean(got.get(1), at200.get("1"));
      assertThat(watcher.lastStep()).isEqualTo(200);
    } finally {
      watcher.close();
      loop.join(10_000);
      agent.close(Duration.ofSeconds(5));
    }
    assertThat(errors).isEmpty();
  }

  @Test
  void watchCommandReadsAnExportedMethodsDictOfHiddenStates() throws Exception {
    String topic = "checkpoints-method";
    KAFKA.createTopic(topic);
    Path dir = Files.createDirectory(tmp.resolve("ckpt"));
    Path probe = probeFile();
    Map<String, double[]> expected = checkpoint(dir, 300, 3, probe);
    Files.writeString(dir.resolve("notes.pt"), "not a checkpoint: no step in the name");

    int code =
        Main.run(
            "watch",
            "--checkpoints",
            dir.toString(),
            "--probe",
            probe.toString(),
            "--method",
            "hidden_states",
            "--once",
            "--bootstrap-servers",
            KAFKA.bootstrapServers(),
            "--set",
            "run=ckpt-method",
            "--set",
            "publish.topic=" + topic);
    assertThat(code).isZero();

    List<SnapshotRecord> got = KAFKA.read(topic, r -> r.size() >= 2, Duration.ofSeconds(60));
    assertThat(got)
        .extracting(r -> r.metadata().layer())
        .containsExactlyInAnyOrder("layers.0", "layers.1");
    for (SnapshotRecord r : got) {
      assertThat(r.metadata().step()).isEqualTo(300);
      assertThat(r.snapshot().count()).isEqualTo(PROBE_SEQUENCES);
      assertThat(r.snapshot().dimension())
          .isEqualTo(r.metadata().layer().equals("layers.0") ? 16 : 12);
      assertMean(r, expected.get(r.metadata().layer()));
    }
  }

  @Test
  void theShadedJarRunsTheWatcherWithTheDjlFolderBesideIt() throws Exception {
    Path jar = Path.of("target", "phasewatch-agent.jar").toAbsolutePath();
    assertThat(jar).as("the package phase builds the shaded jar").exists();
    String topic = "checkpoints-jar";
    KAFKA.createTopic(topic);
    Path dir = Files.createDirectory(tmp.resolve("ckpt-jar"));
    Path probe = probeFile();
    Map<String, double[]> expected = checkpoint(dir, 500, 3, probe);
    Path log = tmp.resolve("watch-jar.log");
    Process watch =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true",
                "-jar",
                jar.toString(),
                "watch",
                "--checkpoints",
                dir.toString(),
                "--probe",
                probe.toString(),
                "--method",
                "hidden_states",
                "--once",
                "--bootstrap-servers",
                KAFKA.bootstrapServers(),
                "--set",
                "run=ckpt-jar",
                "--set",
                "publish.topic=" + topic)
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    try {
      assertThat(watch.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
      assertThat(watch.exitValue()).as(Files.readString(log)).isZero();
    } finally {
      watch.destroyForcibly();
    }
    List<SnapshotRecord> got = KAFKA.read(topic, r -> r.size() >= 2, Duration.ofSeconds(60));
    assertThat(got)
        .extracting(r -> r.metadata().layer())
        .containsExactlyInAnyOrder("layers.0", "layers.1");
    for (SnapshotRecord r : got) {
      assertThat(r.metadata().step()).isEqualTo(500);
      assertMean(r, expected.get(r.metadata().layer()));
    }
  }

  @Test
  void nestedOutputsAreNamedByTheirPathAndCheckpointsOnlyCountOnce() throws Exception {
    String topic = "checkpoints-nested";
    KAFKA.createTopic(topic);
    Path dir = Files.createDirectory(tmp.resolve("ckpt"));
    Path probe = probeFile();
    Map<String, double[]> expected = checkpoint(dir, 50, 4, probe);

    var registry = new SimpleMeterRegistry();
    PhasewatchAgent agent = PhasewatchAgent.start(config("ckpt-nested", topic), registry);
    var watcher =
        CheckpointWatcher.builder(dir, ProbeTokens.read(probe, 0), agent)
            .method("nested")
            .build(registry);
    try {
      assertThat(watcher.scanOnce()).isEqualTo(1);
      assertThat(watcher.scanOnce()).isZero(); // done already
    } finally {
      agent.close(Duration.ofSeconds(5));
    }
    List<SnapshotRecord> got = KAFKA.read(topic, r -> r.size() >= 3, Duration.ofSeconds(60));
    assertThat(got)
        .extracting(r -> r.metadata().layer())
        .containsExactlyInAnyOrder("0", "1.0", "1.1");
    for (SnapshotRecord r : got) {
      String layer = r.metadata().layer();
      assertMean(
          r, expected.get(layer.equals("0") ? "0" : layer.equals("1.0") ? "layers.0" : "layers.1"));
    }
    assertThat(registry.get("phasewatch.checkpoint.processed").counter().count()).isEqualTo(1);
  }
}
