package io.phasewatch.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.phasewatch.core.sketch.ExactSnapshot;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.Stage;
import io.phasewatch.testkit.KafkaBroker;
import io.phasewatch.testkit.SnapshotReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shaded {@code target/phasewatch-agent.jar} as a user runs it: its command line, its contents,
 * and end to end with a real PyTorch trainer (Debian's python3-torch) writing into the spool while
 * the jar, in its own JVM, publishes to a real KRaft broker.
 */
class AgentJarIT {
  private static final Path JAR = Path.of("target", "phasewatch-agent.jar");
  private static final Path TRAIN = Path.of("..", "python", "examples", "train_tiny.py");
  private static final String PYTHON = "/usr/bin/python3.11";
  @RegisterExtension static final KafkaBroker KAFKA = KafkaBroker.perClass();

  @TempDir Path tmp;

  private static String java() {
    return ProcessHandle.current().info().command().orElse("java");
  }

  private record Result(int exit, String output) {}

  private Result run(Duration timeout, String... command) throws Exception {
    Path log = Files.createTempFile(tmp, "out", ".log");
    Process p =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      p.destroyForcibly();
      fail(
          "timed out after "
              + timeout
              + ": "
              + String.join(" ", command)
              + "\n"
              + Files.readString(log));
    }
    return new Result(p.exitValue(), Files.readString(log));
  }

  @Test
  void helpListsTheWatchAndAttachCommands() throws Exception {
    assertThat(JAR).as("built by mvn package").exists();
    Result r = run(Duration.ofSeconds(60), java(), "-jar", JAR.toString(), "--help");
    assertThat(r.exit()).as(r.output()).isZero();
    assertThat(r.output()).contains("watch", "attach");
    Result w = run(Duration.ofSeconds(60), java(), "-jar", JAR.toString(), "watch", "--help");
    assertThat(w.output())
        .contains("--spool=DIR", "--bootstrap-servers", "--config=FILE", "--checkpoints=DIR");
  }

  @Test
  void configurationErrorsExitWithOneLineNamingTheKey() throws Exception {
    String spool = tmp.resolve("s").toString();
    Result zstd =
        run(
            Duration.ofSeconds(60),
            java(),
            "-jar",
            JAR.toString(),
            "watch",
            "--once",
            "--spool",
            spool,
            "--set",
            "kafka.compression.type=zstd");
    assertThat(zstd.exit()).isEqualTo(2);
    assertThat(zstd.output()).contains("kafka.compression.type=zstd is not available in this jar");
    Result unknown =
        run(
            Duration.ofSeconds(60),
            java(),
            "-jar",
            JAR.toString(),
            "watch",
            "--once",
            "--spool",
            spool,
            "--set",
            "spool.colour=red");
    assertThat(unknown.exit()).isEqualTo(2);
    assertThat(unknown.output())
        .contains(
            "phasewatch-agent watch: sidecar config: unknown key 'spool.colour' (flag in --set"
                + " spool.colour); closest known key: 'spool.dir'")
        .doesNotContain("\tat ");
  }

  @Test
  void everyDependencyIsRelocatedUnderIoPhasewatch() throws IOException {
    try (var jar = new JarFile(JAR.toFile())) {
      var outside = new TreeSet<String>();
      var services = new TreeSet<String>();
      jar.stream()
          .forEach(
              e -> {
                String n = e.getName();
                if (n.endsWith(".class") && !n.startsWith("io/phasewatch/")) {
                  outside.add(n);
                }
                if (n.startsWith("META-INF/services/") && !n.endsWith("/")) {
                  services.add(n.substring("META-INF/services/".length()));
                }
              });
      assertThat(outside).isEmpty();
      assertThat(services).allMatch(s -> s.startsWith("io.phasewatch."));
      assertThat(services).contains("io.phasewatch.shaded.org.slf4j.spi.SLF4JServiceProvider");
      assertThat(jar.getManifest().getMainAttributes().getValue("Main-Class"))
          .isEqualTo(Main.class.getName());
      assertThat(jar.stream().map(e -> e.getName())).noneMatch(n -> n.startsWith("ai/djl/"));
    }
  }

  /** RankMe as DESIGN.md defines it, on the eigenvalues of the sample covariance. */
  private static double rankMe(ExactSnapshot s) {
    int d = s.dimension();
    var c = new DMatrixRMaj(d, d, true, s.comoment());
    var eig = DecompositionFactory_DDRM.eig(d, false, true);
    assertThat(eig.decompose(c)).isTrue();
    double sum = 0;
    for (int i = 0; i < d; i++) {
      sum += Math.abs(eig.getEigenvalue(i).getReal());
    }
    double h = 0;
    for (int i = 0; i < d; i++) {
      double p = eig.getEigenvalue(i).getReal() / sum + 1e-7;
      h -= p * Math.log(p);
    }
    return Math.exp(h);
  }

  private void requireTorch() throws Exception {
    Result probe =
        run(Duration.ofSeconds(120), "sh", "-c", PYTHON + " -c 'import numpy, torch' 2>&1 || true");
    if (!Files.isExecutable(Path.of(PYTHON)) || !probe.output().isBlank()) {
      fail(
          PYTHON
              + " with numpy and torch is needed for this test; .ci/run installs Debian's"
              + " python3-torch. Probe said: "
              + probe.output());
    }
  }

  @Test
  void thePythonHelpersOwnTestsPass() throws Exception {
    requireTorch();
    Result r =
        run(
            Duration.ofSeconds(300),
            "sh",
            "-c",
            "cd ../python && OMP_NUM_THREADS=1 "
                + PYTHON
                + " -m unittest test_phasewatch_spool.py");
    assertThat(r.exit()).as(r.output()).isZero();
    assertThat(r.output()).contains("OK");
  }

  @Test
  void aPyTorchTrainerWritingIntoTheSpoolIsPublishedByTheJar() throws Exception {
    requireTorch();
    String topic = "pytorch";
    KAFKA.createTopic(topic);
    Path spool = tmp.resolve("spool");
    Path sidecarLog = tmp.resolve("sidecar.log");
    boolean summaryWhileRunning = false;
    Process sidecar =
        new ProcessBuilder(
                java(),
                "-jar",
                JAR.toString(),
                "watch",
                "--spool",
                spool.toString(),
                "--bootstrap-servers",
                KAFKA.bootstrapServers(),
                "--set",
                "publish.topic=" + topic,
                "--set",
                "spool.scan-interval=200ms")
            .redirectErrorStream(true)
            .redirectOutput(sidecarLog.toFile())
            .start();
    try {
      var pb =
          new ProcessBuilder(
                  PYTHON,
                  TRAIN.toString(),
                  "--spool",
                  spool.toString(),
                  "--run",
                  "tiny",
                  "--steps",
                  "40",
                  "--every",
                  "5",
                  "--rows",
                  "32",
                  "--d",
                  "32")
              .redirectErrorStream(true)
              .redirectOutput(tmp.resolve("train.log").toFile());
      pb.environment().put("OMP_NUM_THREADS", "1");
      Process train = pb.start();
      assertThat(train.waitFor(300, TimeUnit.SECONDS)).as("training finished").isTrue();
      assertThat(train.exitValue()).as(Files.readString(tmp.resolve("train.log"))).isZero();
      assertThat(Files.readString(tmp.resolve("train.log"))).contains("done: 24 files written");

      // 8 flushes (steps 5, 10, …, 40) × 3 hooked modules.
      List<SnapshotRecord> got =
          KAFKA.read(topic, SnapshotReader.atLeast(24), Duration.ofSeconds(120));
      assertThat(got).as(Files.readString(sidecarLog)).hasSize(24);
      var layers = new TreeSet<String>();
      var steps = new TreeSet<Long>();
      for (SnapshotRecord r : got) {
        layers.add(r.metadata().layer());
        steps.add(r.metadata().step());
        assertThat(r.metadata().runId()).isEqualTo("tiny");
        assertThat(r.metadata().stage()).isEqualTo(Stage.PRETRAIN);
        assertThat(r.metadata().tokensSeen()).isEqualTo(r.metadata().step() * 32 * 16);
        assertThat(r.snapshot()).isInstanceOf(ExactSnapshot.class);
        var s = (ExactSnapshot) r.snapshot();
        assertThat(s.dimension()).isEqualTo(32);
        assertThat(s.count()).isEqualTo(32);
        assertThat(s.nonFiniteRows()).isZero();
        double rm = rankMe(s);
        assertThat(rm)
            .as("RankMe of %s at step %d", r.metadata().layer(), r.metadata().step())
            .isGreaterThan(1.0)
            .isLessThanOrEqualTo(32.0);
      }
      assertThat(layers).containsExactly("layers.0", "layers.1", "norm");
      assertThat(steps).containsExactly(5L, 10L, 15L, 20L, 25L, 30L, 35L, 40L);
      try (var left = Files.list(spool)) {
        assertThat(left.map(p -> p.getFileName().toString()))
            .as("nothing left behind or rejected")
            .allMatch(n -> n.startsWith("."));
      }
      // A summary within the first minute, without waiting for summary-interval (5 min).
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!(summaryWhileRunning =
              Files.readString(sidecarLog).contains("INFO phasewatch sidecar: " + spool + ": done"))
          && System.nanoTime() < deadline) {
        Thread.sleep(500);
      }
    } finally {
      sidecar.destroy();
      if (!sidecar.waitFor(60, TimeUnit.SECONDS)) {
        sidecar.destroyForcibly();
        fail("the sidecar did not stop on SIGTERM:\n" + Files.readString(sidecarLog));
      }
    }
    String log = Files.readString(sidecarLog);
    assertThat(log).contains("done 24 files");
    List<String> lines = log.lines().toList();
    assertThat(lines.get(0))
        .as("the first line names the version, the spool and the topic")
        .matches(
            ".* INFO phasewatch-agent \\S+ watch: reading .*spool, publishing to topic "
                + topic
                + " at "
                + java.util.regex.Pattern.quote(KAFKA.bootstrapServers())
                + ", summary every 300 s");
    assertThat(lines.stream().filter(l -> l.contains("handed to the publisher")))
        .singleElement()
        .asString()
        .contains("first file run=tiny,");
    assertThat(lines.stream().filter(l -> l.contains("first snapshot delivered to " + topic)))
        .hasSize(1);
    assertThat(summaryWhileRunning).as("a summary within the first minute:\n" + log).isTrue();
    // d = 32: too few eigenvalues for the 12…100 window, said once for each of the three layers.
    assertThat(lines.stream().filter(l -> l.contains("give at most 31 nonzero covariance")))
        .hasSize(3);
    assertThat(log)
        .as("the topic exists: no metadata warning, no Kafka client INFO lines")
        .doesNotContain("not present in metadata")
        .doesNotContain("ProducerConfig values");
  }
}
