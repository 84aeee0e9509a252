package io.phasewatch.collector.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.phasewatch.collector.phase.PhaseDetectorConfig;
import io.phasewatch.core.wire.Stage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {

  @TempDir Path dir;

  @Test
  void defaultsBindToLoopbackOnPort8080() {
    CollectorConfig c = CollectorConfig.defaults();
    assertThat(c.http().host()).isEqualTo("127.0.0.1");
    assertThat(c.http().port()).isEqualTo(8080);
    assertThat(c.kafka().topic()).isEqualTo("phasewatch.sketches");
    assertThat(c.kafka().dlqTopic()).isEqualTo("phasewatch.sketches.dlq");
  }

  @Test
  void fileThenEnvironmentThenFlagsEachOverrideTheOneBefore() throws IOException {
    Path yaml = dir.resolve("c.yaml");
    Files.writeString(yaml, "http:\n  port: 9000\n  host: 0.0.0.0\nlimits:\n  max-runs: 3\n");
    CollectorConfig c =
        ConfigLoader.load(
            yaml,
            Map.of("PHASEWATCH_HTTP_PORT", "9001", "PHASEWATCH_LIMITS_MAX_RUNS", "5"),
            Map.of("limits.max-runs", "7"));
    assertThat(c.http().host()).isEqualTo("0.0.0.0");
    assertThat(c.http().port()).isEqualTo(9001);
    assertThat(c.limits().maxRuns()).isEqualTo(7);
  }

  @Test
  void unknownKeyInTheFileIsRejectedByName() throws IOException {
    Path yaml = dir.resolve("c.yaml");
    Files.writeString(yaml, "http:\n  prot: 9000\n");
    assertThatThrownBy(() -> ConfigLoader.load(yaml, Map.of(), Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown key 'http.prot'");
  }

  @Test
  void variablesThatNameNoCollectorKeyAreLeftToTheAgent() {
    CollectorConfig c =
        ConfigLoader.load(
            null,
            Map.of("PHASEWATCH_KAFKA_SASL_MECHANISM", "PLAIN", "PHASEWATCH_KAFKA_TOPIC", "t2"),
            Map.of());
    assertThat(c.kafka().topic()).isEqualTo("t2");
  }

  @Test
  void unknownFlagKeyAndBadNumbersNameTheKey() {
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), Map.of("merge.timeout", "1")))
        .hasMessageContaining("unknown key 'merge.timeout'");
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), Map.of("http.port", "eighty")))
        .hasMessageContaining("http.port");
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), Map.of("limits.max-runs", "0")))
        .hasMessageContaining("limits.max-runs must be ≥ 1");
  }

  @Test
  void idleTimeoutMustExceedTheMergeTimeout() {
    assertThatThrownBy(
            () ->
                ConfigLoader.load(
                    null,
                    Map.of(),
                    Map.of("limits.run-idle-timeout-ms", "1000", "merge.timeout-ms", "1000")))
        .hasMessageContaining("run-idle-timeout-ms");
  }

  @Test
  void everyKeyHasAnEnvironmentName() {
    assertThat(ConfigLoader.envName("kafka.bootstrap-servers"))
        .isEqualTo("PHASEWATCH_KAFKA_BOOTSTRAP_SERVERS");
  }

  @Test
  void phaseDetectorDefaultsAreThoseOfDocsPhases() {
    PhaseDetectorConfig p = CollectorConfig.defaults().phases();
    assertThat(p.enterTrend()).isEqualTo(0.10);
    assertThat(p.exitTrend()).isEqualTo(0.05);
    assertThat(p.minDurationPoints()).isEqualTo(3);
    assertThat(p.alphaVetoTrend()).isEqualTo(Double.POSITIVE_INFINITY);
    assertThat(p.warmupSteps(Stage.PRETRAIN)).isEqualTo(2_000L);
    assertThat(p.warmupSteps(Stage.SFT)).isZero();
    assertThat(ConfigLoader.DEFAULTS).containsEntry("phases.alpha-veto-trend", "off");
  }

  @Test
  void phaseDetectorKeysComeFromFileEnvironmentAndFlags() throws IOException {
    Path yaml = dir.resolve("c.yaml");
    Files.writeString(
        yaml,
        "phases:\n  exit-trend: 0.03\n  alpha-veto-trend: 0.2\n  warmup-steps:\n    sft: 50\n");
    PhaseDetectorConfig p =
        ConfigLoader.load(
                yaml,
                Map.of("PHASEWATCH_PHASES_MIN_DURATION_POINTS", "5"),
                Map.of("phases.steady-duration-log-steps", "0.5"))
            .phases();
    assertThat(p.exitTrend()).isEqualTo(0.03);
    assertThat(p.alphaVetoTrend()).isEqualTo(0.2);
    assertThat(p.warmupSteps(Stage.SFT)).isEqualTo(50L);
    assertThat(p.warmupSteps(Stage.PRETRAIN)).isEqualTo(2_000L);
    assertThat(p.minDurationPoints()).isEqualTo(5);
    assertThat(p.steadyDurationLogSteps()).isEqualTo(0.5);
    assertThat(p.enterTrend()).isEqualTo(0.10);
  }

  @Test
  void theAlphaVetoIsTurnedOffByName() {
    assertThat(
            ConfigLoader.load(null, Map.of(), Map.of("phases.alpha-veto-trend", "OFF"))
                .phases()
                .alphaVetoTrend())
        .isEqualTo(Double.POSITIVE_INFINITY);
  }

  @Test
  void badPhaseDetectorValuesNameTheKey() {
    assertThatThrownBy(
            () -> ConfigLoader.load(null, Map.of(), Map.of("phases.enter-trend", "steep")))
        .hasMessageContaining("phases.enter-trend = 'steep' is not a number");
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), Map.of("phases.enter-trend", "NaN")))
        .hasMessageContaining("phases.enter-trend");
    // Hysteresis: the exit threshold may not exceed the entry threshold (0.10 by default).
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), Map.of("phases.exit-trend", "0.2")))
        .hasMessageContaining("collector config: phases.exit-trend 0.2 outside")
        .hasMessageNotContaining("exitTrend");
    assertThatThrownBy(
            () -> ConfigLoader.load(null, Map.of(), Map.of("phases.min-duration-points", "0")))
        .hasMessageContaining("phases.min-duration-points 0 outside [1, 100000]");
    assertThatThrownBy(
            () -> ConfigLoader.load(null, Map.of(), Map.of("phases.warmup-steps.sft", "-1")))
        .hasMessageContaining("phases.warmup-steps.sft -1 must be ≥ 0");
    assertThatThrownBy(
            () -> ConfigLoader.load(null, Map.of(), Map.of("phases.warmup-steps.pretraining", "1")))
        .hasMessageContaining("unknown key 'phases.warmup-steps.pretraining'");
  }
}
