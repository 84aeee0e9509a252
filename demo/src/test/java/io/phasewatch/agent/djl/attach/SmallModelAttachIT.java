package io.phasewatch.agent.djl.attach;

import static org.assertj.core.api.Assertions.assertThat;

import io.phasewatch.agent.djl.LayerTaps;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.demo.training.TinyLanguageModel;
import io.phasewatch.testkit.KafkaBroker;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shaded agent jar attached by PID to a JVM of its own that trains phasewatch's small model
 * ({@link SmallModelTrainer}: no taps, no agent class), publishing to a real KRaft KAFKA.
 */
class SmallModelAttachIT {

  @RegisterExtension static final KafkaBroker KAFKA = KafkaBroker.perClass();

  @TempDir Path dir;

  /**
   * The small model's own classes ({@code io.phasewatch.demo.training}) and the tap holder it is
   * built with ({@code io.phasewatch.agent.djl}, without subpackages; with no taps it never reaches
   * the agent), as a job that trains it has them on its class path: the capture, sketch, wire and
   * agent core classes reach the host only through the agent jar.
   */
  private Path modelClasses() throws Exception {
    Path to = dir.resolve("model-classes");
    copyPackage(TinyLanguageModel.class, to);
    copyPackage(LayerTaps.class, to);
    return to;
  }

  /** Copies the top-level classes of {@code type}'s package from wherever the test loaded them. */
  private static void copyPackage(Class<?> type, Path to) throws Exception {
    String pkg = type.getPackageName().replace('.', '/');
    Path root = Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
    Files.createDirectories(to.resolve(pkg));
    if (Files.isDirectory(root)) {
      try (Stream<Path> files = Files.list(root.resolve(pkg))) {
        for (Path f : files.filter(f -> f.toString().endsWith(".class")).toList()) {
          Files.copy(f, to.resolve(pkg).resolve(f.getFileName().toString()));
        }
      }
      return;
    }
    try (ZipFile jar = new ZipFile(root.toFile())) {
      for (ZipEntry entry : Collections.list(jar.entries())) {
        String name = entry.getName();
        if (name.startsWith(pkg + "/")
            && name.endsWith(".class")
            && name.indexOf('/', pkg.length() + 1) < 0) {
          try (InputStream in = jar.getInputStream(entry)) {
            Files.copy(in, to.resolve(name));
          }
        }
      }
    }
  }

  @Test
  void attachedByPidToTheSmallModelTheAgentTapsAFinalNormAndADecoderLayer() throws Exception {
    String topic = "small-model";
    KAFKA.createTopic(topic);
    Path config = dir.resolve("agent.yaml");
    Files.writeString(
        config,
        "run: small\n"
            + "sampling: {mode: live, every-steps: 2, rows-per-step: 16}\n"
            + "window: {steps: 10}\n"
            + "publish: {topic: "
            + topic
            + ", retry-backoff: 100ms, retry-backoff-max: 500ms}\n"
            + "kafka: {bootstrap.servers: '"
            + KAFKA.bootstrapServers()
            + "', linger.ms: 0}\n",
        StandardCharsets.UTF_8);
    Path stop = dir.resolve("stop");
    try (var trainer =
        ChildJvm.start(
            List.of(),
            List.of(modelClasses()),
            SmallModelTrainer.class.getName(),
            "1000000",
            stop.toString())) {
      trainer.awaitLine("ready", Duration.ofSeconds(120));

      // The Java agent names blocks by their DJL child path: the model adds its decoder layers as
      // "layer0", "layer1" and its last LayerNorm as "final_norm".
      var attach =
          ChildJvm.runJar(
              ChildJvm.agentJar(),
              "attach",
              Long.toString(trainer.pid()),
              "--config",
              config.toString(),
              "--layers",
              "layer1,final_*");
      assertThat(attach.exitCode(Duration.ofSeconds(60))).as(attach.transcript()).isZero();
      assertThat(String.join("\n", attach.out())).contains("attached: run small");

      List<SnapshotRecord> got =
          KAFKA.read(
              topic,
              r ->
                  r.stream()
                          .filter(s -> s.snapshot().count() == 80)
                          .map(s -> s.metadata().layer())
                          .distinct()
                          .count()
                      == 2,
              Duration.ofSeconds(120));
      assertThat(got.stream().map(r -> r.metadata().layer()).collect(Collectors.toSet()))
          .as(trainer.transcript())
          .containsExactlyInAnyOrder("layer1", "final_norm");
      assertThat(String.join("\n", trainer.err()))
          .contains("phasewatch: tapping [layer1, final_norm]");
      for (SnapshotRecord r : got) {
        assertThat(r.metadata().runId()).isEqualTo("small");
        // Both blocks output the residual stream, (B, T, d_model).
        assertThat(r.snapshot().dimension()).isEqualTo(SmallModelTrainer.CONFIG.dModel());
        assertThat(r.metadata().step() % 10).isZero();
        // At most 5 sampled steps × 16 rows per window; fewer only in the window of the attach.
        assertThat(r.snapshot().count()).isPositive().isLessThanOrEqualTo(80);
        assertThat(r.snapshot().count() % 16).isZero();
      }

      Files.createFile(stop);
      assertThat(trainer.exitCode(Duration.ofSeconds(60))).as(trainer.transcript()).isZero();
      assertThat(trainer.out()).anyMatch(l -> l.startsWith("done "));
      assertThat(String.join("\n", trainer.err())).doesNotContain("SEVERE");
    }
  }
}
