package io.phasewatch.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.phasewatch.agent.config.AgentConfig.Kind;
import io.phasewatch.agent.config.AgentConfig.Mode;
import io.phasewatch.core.sketch.DefaultSummary;
import io.phasewatch.core.sketch.RowSample;
import io.phasewatch.core.wire.Stage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class AgentConfigLoaderTest {

  @Test
  void defaultsMatchTheDocumentedTable() {
    AgentConfig c = AgentConfig.defaults("r1");
    assertThat(c.enabled()).isTrue();
    assertThat(c.stage()).isEqualTo(Stage.PRETRAIN);
    assertThat(c.rank()).isZero();
    assertThat(c.worldSize()).isEqualTo(1);
    assertThat(c.sampling().mode()).isEqualTo(Mode.LIVE);
    assertThat(c.sampling().everySteps()).isEqualTo(10);
    assertThat(c.sampling().rowsPerStep()).isEqualTo(64);
    assertThat(c.sampling().probeBudget()).isEqualTo(0.02);
    assertThat(c.window().steps()).isEqualTo(100);
    assertThat(c.sketch().exactMaxDim()).isEqualTo(1024);
    assertThat(c.sketch().fdRows()).isEqualTo(256);
    assertThat(c.queue().maxRows()).isEqualTo(65_536);
    assertThat(c.queue().maxBytes()).isEqualTo(64L << 20);
    assertThat(c.publish().topic()).isEqualTo("phasewatch.sketches");
    assertThat(c.publish().maxRecordBytes()).isEqualTo(900_000);
    assertThat(c.publish().spoolDir()).isEmpty();
    assertThat(c.publish().retryBackoff()).isEqualTo(Duration.ofMillis(500));
    assertThat(c.publish().kafka()).containsEntry("bootstrap.servers", "localhost:9092");
    assertThat(c.summaryInterval()).isEqualTo(Duration.ofMinutes(5));
  }

  @Test
  void yamlThenEnvironmentThenFlagsEachWin() {
    String yaml =
        """
        run: exp7
        stage: sft
        rank: 1
        world-size: 4
        window: {steps: 50}
        queue: {max-bytes: 8MiB}
        publish:
          topic: t1
          spool-dir: /tmp/spool
        kafka:
          bootstrap.servers: b1:9092
          security.protocol: SASL_SSL
        """;
    AgentConfig c =
        AgentConfigLoader.load(
            yaml,
            Map.of(
                "PHASEWATCH_WINDOW_STEPS", "20",
                "PHASEWATCH_KAFKA_SASL_MECHANISM", "PLAIN",
                "PHASEWATCH_PUBLISH_TOPIC", "t2",
                "HOME", "/root",
                "PHASEWATCH_COLLECTOR_PORT", "8080"),
            Map.of("publish.topic", "t3"));
    assertThat(c.runId()).isEqualTo("exp7");
    assertThat(c.stage()).isEqualTo(Stage.SFT);
    assertThat(c.rank()).isEqualTo(1);
    assertThat(c.worldSize()).isEqualTo(4);
    assertThat(c.window().steps()).isEqualTo(20);
    assertThat(c.queue().maxBytes()).isEqualTo(8L << 20);
    assertThat(c.publish().topic()).isEqualTo("t3");
    assertThat(c.publish().spoolDir()).isEqualTo(Optional.of(Path.of("/tmp/spool")));
    assertThat(c.publish().kafka())
        .containsEntry("bootstrap.servers", "b1:9092")
        .containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("sasl.mechanism", "PLAIN");
  }

  @Test
  void unknownYamlKeyIsAnErrorNamingIt() {
    assertThatThrownBy(
            () -> AgentConfigLoader.load("run: r\npublish: {topik: x}\n", Map.of(), Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'publish.topik'");
  }

  @Test
  void unknownFlagIsAnErrorNamingIt() {
    assertThatThrownBy(
            () -> AgentConfigLoader.load("run: r\n", Map.of(), Map.of("window.stepz", "3")))
        .hasMessageContaining("'window.stepz'");
  }

  @Test
  void badValueNamesKeyAndValue() {
    assertThatThrownBy(
            () -> AgentConfigLoader.load("run: r\nqueue: {max-rows: lots}\n", Map.of(), Map.of()))
        .hasMessageContaining("queue.max-rows")
        .hasMessageContaining("lots");
    assertThatThrownBy(
            () -> AgentConfigLoader.load("run: r\nwindow: {steps: 0}\n", Map.of(), Map.of()))
        .hasMessageContaining("window.steps must be ≥ 1, got 0");
    assertThatThrownBy(
            () ->
                AgentConfigLoader.load(
                    "run: r\nsampling: {probe-budget: 1.5}\n", Map.of(), Map.of()))
        .hasMessageContaining("sampling.probe-budget");
    assertThatThrownBy(
            () -> AgentConfigLoader.load("run: r\nrank: 3\nworld-size: 2\n", Map.of(), Map.of()))
        .hasMessageContaining("rank 3 outside world-size 2");
    assertThatThrownBy(() -> AgentConfigLoader.load("stage: sft\n", Map.of(), Map.of()))
        .hasMessageContaining("run is required");
  }

  @Test
  void wideLayersGetTheFloat32CoMomentThenTheRowSampleOfTheSharedDefaultRoute() {
    AgentConfig c = AgentConfigLoader.load("run: r\nworld-size: 8\n", Map.of(), Map.of());
    assertThat(c.sketch().exactMaxDim()).isEqualTo(DefaultSummary.EXACT_MAX_DIMENSION);
    assertThat(c.sketch().exact32MaxDim()).isEqualTo(DefaultSummary.FLOAT32_MAX_DIMENSION);
    assertThat(c.sketch().choose("final_norm", 1024).kind()).isEqualTo(Kind.EXACT);
    assertThat(c.sketch().choose("final_norm", 1025).kind()).isEqualTo(Kind.EXACT32);
    assertThat(c.sketch().choose("final_norm", 2048).kind()).isEqualTo(Kind.EXACT32);
    assertThat(c.sketch().choose("final_norm", 2688).kind()).isEqualTo(Kind.EXACT32);
    assertThat(c.sketch().choose("final_norm", 2689).kind()).isEqualTo(Kind.SAMPLE);
    // 2048 rows a window over 8 ranks: 256 each, as DefaultSummary gives every route.
    assertThat(c.sketch().sampleCapacity(8, 4096))
        .isEqualTo(((RowSample) DefaultSummary.forLayer(4096, 8)).capacity())
        .isEqualTo(256);
    AgentConfig small =
        AgentConfigLoader.load(
            "run: r\nsketch: {sample-rows: 512, sample-max-bytes: 1MiB, overrides: [{layer: x, kind: sample}]}\n",
            Map.of(),
            Map.of());
    assertThat(small.sketch().choose("x", 16).kind()).isEqualTo(Kind.SAMPLE);
    assertThat(small.sketch().sampleCapacity(1, 4096)).isEqualTo(64); // 1 MiB of 16 KiB rows
    assertThat(small.sketch().sampleCapacity(1, 256)).isEqualTo(512);
  }

  @Test
  void layerOverridesPickTheSketchByGlobBeforeTheWidthRule() {
    AgentConfig c =
        AgentConfigLoader.load(
            """
            run: r
            sketch:
              exact-max-dim: 128
              exact32-max-dim: 256
              fd-rows: 64
              overrides:
                - {layer: "layers.*.attn", kind: fd, fd-rows: 32}
                - {layer: final_norm, kind: exact}
                - {layer: "*.out", kind: exact32}
            """,
            Map.of(),
            Map.of());
    assertThat(c.sketch().choose("layers.3.attn", 16).kind()).isEqualTo(Kind.FD);
    assertThat(c.sketch().choose("layers.3.attn", 16).fdRows()).isEqualTo(32);
    assertThat(c.sketch().choose("final_norm", 4096).kind()).isEqualTo(Kind.EXACT);
    assertThat(c.sketch().choose("layers.3.mlp", 128).kind()).isEqualTo(Kind.EXACT);
    assertThat(c.sketch().choose("layers.3.mlp", 129).kind()).isEqualTo(Kind.EXACT32);
    assertThat(c.sketch().choose("layers.3.mlp", 257).kind()).isEqualTo(Kind.SAMPLE);
    assertThat(c.sketch().choose("layers.3.out", 4096).kind()).isEqualTo(Kind.EXACT32);
    assertThatThrownBy(
            () ->
                AgentConfigLoader.load(
                    "run: r\nsketch: {overrides: [{layer: a, kind: fd, size: 3}]}\n",
                    Map.of(),
                    Map.of()))
        .hasMessageContaining("'sketch.overrides[0].size'");
  }

  @Test
  void tapsFromEnvironmentAreCommaSeparated() {
    AgentConfig c =
        AgentConfigLoader.load(
            "run: r\n", Map.of("PHASEWATCH_SAMPLING_TAPS", "layers.*.out, final_norm"), Map.of());
    assertThat(c.sampling().taps()).isEqualTo(List.of("layers.*.out", "final_norm"));
  }

  @Test
  void globsMatchStarsAndNothingElse() {
    assertThat(Globs.matches("layers.*.out", "layers.12.out")).isTrue();
    assertThat(Globs.matches("layers.*.out", "layers.12.attn")).isFalse();
    assertThat(Globs.matches("*", "")).isTrue();
    assertThat(Globs.matches("a*b*c", "axxbyyc")).isTrue();
    assertThat(Globs.matches("a*b*c", "axxbyy")).isFalse();
    assertThat(Globs.matches("final_norm", "final_norm")).isTrue();
    assertThat(Globs.matches("final.norm", "finalXnorm")).isFalse();
  }
}
