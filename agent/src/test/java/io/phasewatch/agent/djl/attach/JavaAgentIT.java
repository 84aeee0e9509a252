package io.phasewatch.agent.djl.attach;

import static org.assertj.core.api.Assertions.assertThat;

import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.TrainingScalars;
import io.phasewatch.testkit.KafkaBroker;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shaded agent jar against a DJL training program in a JVM of its own that knows nothing of
 * phasewatch ({@link PlainTrainer}), publishing to a real KRaft broker: attached by PID while it
 * trains, detached again, and loaded with {@code -javaagent} at start.
 */
class JavaAgentIT {

  @RegisterExtension static final KafkaBroker KAFKA = KafkaBroker.perClass();

  @TempDir Path dir;

  /** Agent YAML: sample every 2nd step, 16 rows, windows of 10 steps. */
  private Path config(String run, String topic) throws Exception {
    Path file = dir.resolve(run + ".yaml");
    Files.writeString(
        file,
        "run: "
            + run
            + "\nsampling: {mode: live, every-steps: 2, rows-per-step: 16}\n"
            + "window: {steps: 10}\n"
            + "publish: {topic: "
            + topic
            + ", retry-backoff: 100ms, retry-backoff-max: 500ms}\n"
            + "kafka: {bootstrap.servers: '"
            + KAFKA.bootstrapServers()
            + "', linger.ms: 0}\n",
        StandardCharsets.UTF_8);
    return file;
  }

  private static Set<String> layers(List<SnapshotRecord> records) {
    return records.stream().map(r -> r.metadata().layer()).collect(Collectors.toSet());
  }

  @Test
  void attachedByPidTheAgentTapsTheNamedBlocksAndTheTrainerFinishesNormally() throws Exception {
    String topic = "attach";
    KAFKA.createTopic(topic);
    Path stop = dir.resolve("stop");
    try (var trainer =
        ChildJvm.start(List.of(), PlainTrainer.class.getName(), "1000000", stop.toString())) {
      trainer.awaitLine("ready", Duration.ofSeconds(120));

      var attach =
          ChildJvm.runJar(
              ChildJvm.agentJar(),
              "attach",
              Long.toString(trainer.pid()),
              "--config",
              config("attached", topic).toString(),
              "--layers",
              "embed,hidden");
      assertThat(attach.exitCode(Duration.ofSeconds(60))).as(attach.transcript()).isZero();
      assertThat(String.join("\n", attach.out())).contains("attached: run attached");

      List<SnapshotRecord> got =
          KAFKA.read(
              topic,
              r -> r.stream().filter(s -> s.snapshot().count() == 80).count() >= 4,
              Duration.ofSeconds(90));
      assertThat(layers(got)).as(trainer.transcript()).containsExactlyInAnyOrder("embed", "hidden");
      for (SnapshotRecord r : got) {
        assertThat(r.metadata().runId()).isEqualTo("attached");
        assertThat(r.snapshot().dimension())
            .isEqualTo(r.metadata().layer().equals("embed") ? 32 : 24);
        // Windows of 10 steps close at steps 10, 20, …; 5 sampled steps × 16 rows each at most.
        assertThat(r.metadata().step() % 10).isZero();
        assertThat(r.metadata().windowId()).isEqualTo(r.metadata().step());
        assertThat(r.snapshot().count()).isPositive().isLessThanOrEqualTo(80);
        assertThat(r.snapshot().count() % 16).isZero();
      }
      assertThat(String.join("\n", trainer.err())).contains("phasewatch: tapping [embed, hidden]");

      // Detach: pending snapshots are delivered before the command returns, then nothing more.
      var detach =
          ChildJvm.runJar(ChildJvm.agentJar(), "attach", Long.toString(trainer.pid()), "--detach");
      assertThat(detach.exitCode(Duration.ofSeconds(60))).as(detach.transcript()).isZero();
      assertThat(String.join("\n", detach.out())).contains("detached");
      int afterDetach = KAFKA.read(topic, r -> false, Duration.ofSeconds(2)).size();
      Thread.sleep(2_000);
      assertThat(KAFKA.read(topic, r -> false, Duration.ofSeconds(2))).hasSize(afterDetach);

      Files.createFile(stop);
      assertThat(trainer.exitCode(Duration.ofSeconds(60))).as(trainer.transcript()).isZero();
      assertThat(trainer.out()).anyMatch(l -> l.startsWith("done "));
      assertThat(String.join("\n", trainer.err())).doesNotContain("SEVERE");
    }
  }

  @Test
  void loadedWithJavaagentTheAgentTapsFromTheFirstStepsAndDeliversAtExit() throws Exception {
    String topic = "premain";
    KAFKA.createTopic(topic);
    String agent =
        "-javaagent:"
            + ChildJvm.agentJar()
            + "="
            + config("premain", topic)
            + ";sampling.taps=hid*";
    try (var trainer =
        ChildJvm.start(
            List.of(agent), PlainTrainer.class.getName(), "100", dir.resolve("never").toString())) {
      assertThat(trainer.exitCode(Duration.ofSeconds(180))).as(trainer.transcript()).isZero();
      assertThat(trainer.out()).contains("done 100");
      List<SnapshotRecord> got =
          KAFKA.read(
              topic,
              r -> r.stream().map(s -> s.metadata().step()).distinct().count() >= 10,
              Duration.ofSeconds(30));
      assertThat(layers(got)).as(trainer.transcript()).containsExactly("hidden");
      Set<Long> steps =
          got.stream().map(r -> r.metadata().step()).collect(Collectors.toCollection(TreeSet::new));
      // Every window from the first (steps count from 1, the trainer's first forward pass); step
      // 100 ends the last window, so closing the agent has nothing left to flush.
      assertThat(steps).containsExactly(10L, 20L, 30L, 40L, 50L, 60L, 70L, 80L, 90L, 100L);
      for (SnapshotRecord r : got) {
        // Sampled steps are the even ones: five in every window of 10 steps, the first included
        // (steps 1 to 10).
        assertThat(r.snapshot().count()).isEqualTo(80);
        assertThat(r.metadata().windowId()).isEqualTo(r.metadata().step());
        assertThat(r.snapshot().dimension()).isEqualTo(24);
        // The loss the sampled steps handed to backward (an L2 loss: positive), averaged over
        // those five steps.
        TrainingScalars.Scalar loss = r.scalars().values().get(TrainingScalars.LOSS);
        assertThat(loss).as("window %d carries the loss", r.metadata().step()).isNotNull();
        assertThat(loss.weight()).isEqualTo(5);
        assertThat(loss.value()).isPositive().isFinite();
      }
    }
  }
}
