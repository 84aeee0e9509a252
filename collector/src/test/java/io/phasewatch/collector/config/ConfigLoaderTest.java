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
  void kafkaVariablesSetTheCollectorsKeysFirstAndItsClientPropertiesOtherwise() {
    CollectorConfig c =
        ConfigLoader.load(
            null,
            Map.of(
                "PHASEWATCH_KAFKA_SASL_MECHANISM", "PLAIN",
                "PHASEWATCH_KAFKA_TOPIC", "t2",
                "PHASEWATCH_RUN", "r1"),
            Map.of());
    assertThat(c.kafka().topic()).isEqualTo("t2");
    assertThat(c.kafka().client()).containsExactlyEntriesOf(Map.of("sasl.mechanism", "PLAIN"));
  }

  @Test
  void unknownFlagKeyAndBadNumbersNameTheKey() {
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), Map.of("merge.timout", "1s")))
        .hasMessageContaining("unknown key 'merge.timout'")
        .hasMessageContaining("closest known key: 'merge.timeout'");
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
        .hasMessageContaining("limits.run-idle-timeout 1000ms must exceed merge.timeout 1000ms");
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
    assertThat(p.enterSignificance()).isEqualTo(6.0);
    assertThat(p.minChange()).isEqualTo(0.10);
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
                Map.of("PHASEWATCH_PHASES_MIN_EFFECT", "5"),
                Map.of("phases.steady-duration-log-steps", "0.5"))
            .phases();
    assertThat(p.exitTrend()).isEqualTo(0.03);
    assertThat(p.alphaVetoTrend()).isEqualTo(0.2);
    assertThat(p.warmupSteps(Stage.SFT)).isEqualTo(50L);
    assertThat(p.warmupSteps(Stage.PRETRAIN)).isEqualTo(2_000L);
    assertThat(p.minEffect()).isEqualTo(5.0);
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
        .hasMessageContaining("phases.enter-trend")
        .hasMessageContaining("expected a number, got 'steep'");
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), Map.of("phases.enter-trend", "NaN")))
        .hasMessageContaining("phases.enter-trend");
    // Hysteresis: the exit threshold may not exceed the entry threshold (0.10 by default).
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), Map.of("phases.exit-trend", "0.2")))
        .hasMessageContaining("collector config: phases.exit-trend 0.2 outside")
        .hasMessageNotContaining("exitTrend");
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), Map.of("phases.min-points", "2")))
        .hasMessageContaining("phases.min-points 2 outside [3, 10000]");
    assertThatThrownBy(
            () -> ConfigLoader.load(null, Map.of(), Map.of("phases.warmup-steps.sft", "-1")))
        .hasMessageContaining("phases.warmup-steps.sft -1 must be ≥ 0");
    assertThatThrownBy(
            () -> ConfigLoader.load(null, Map.of(), Map.of("phases.warmup-steps.pretraining", "1")))
        .hasMessageContaining("unknown key 'phases.warmup-steps.pretraining'");
  }

  @Test
  void kafkaClientPropertiesPassThroughFromFileEnvironmentAndFlags() throws IOException {
    Path yaml = dir.resolve("c.yaml");
    Files.writeString(
        yaml,
        "kafka:\n  bootstrap-servers: b:9093\n  ssl:\n    truststore.location: /t.p12\n"
            + "    truststore.type: PKCS12\n");
    CollectorConfig c =
        ConfigLoader.load(
            yaml,
            Map.of("PHASEWATCH_KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
            Map.of("kafka.sasl.mechanism", "SCRAM-SHA-512"));
    assertThat(c.kafka().bootstrapServers()).isEqualTo("b:9093");
    assertThat(c.kafka().client())
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(
                "ssl.truststore.location", "/t.p12",
                "ssl.truststore.type", "PKCS12",
                "security.protocol", "SASL_SSL",
                "sasl.mechanism", "SCRAM-SHA-512"));
    // Each client gets what it knows: a consumer-only setting stays out of the producer.
    CollectorConfig fetch =
        ConfigLoader.load(null, Map.of(), Map.of("kafka.fetch.min.bytes", "1024"));
    assertThat(
            fetch
                .kafka()
                .clientProperties(org.apache.kafka.clients.consumer.ConsumerConfig.configNames()))
        .containsEntry("fetch.min.bytes", "1024");
    assertThat(
            fetch
                .kafka()
                .clientProperties(org.apache.kafka.clients.producer.ProducerConfig.configNames()))
        .doesNotContainKey("fetch.min.bytes");
  }

  @Test
  void theAgentsSpellingOfBootstrapServersAndGroupIdIsTheSameKey() {
    CollectorConfig c =
        ConfigLoader.load(
            null, Map.of(), Map.of("kafka.bootstrap.servers", "b:1", "kafka.group.id", "g"));
    assertThat(c.kafka().bootstrapServers()).isEqualTo("b:1");
    assertThat(c.kafka().groupId()).isEqualTo("g");
    assertThat(c.kafka().client()).isEmpty();
  }

  @Test
  void aMistypedOrCollectorOwnedClientPropertyIsAnErrorFromFileOrFlag() {
    assertThatThrownBy(
            () -> ConfigLoader.load(null, Map.of(), Map.of("kafka.security.protocl", "SSL")))
        .hasMessageContaining("kafka.security.protocl (--set kafka.security.protocl)")
        .hasMessageContaining("closest: 'security.protocol'");
    assertThatThrownBy(
            () -> ConfigLoader.load(null, Map.of(), Map.of("kafka.enable.auto.commit", "true")))
        .hasMessageContaining("kafka.enable.auto.commit")
        .hasMessageContaining("set by the collector itself");
    // From the environment (which the agents' producer settings may share) it is left out.
    CollectorConfig c =
        ConfigLoader.load(
            null,
            Map.of("PHASEWATCH_KAFKA_ENABLE_AUTO_COMMIT", "true", "PHASEWATCH_KAFKA_ACKS", "1"),
            Map.of());
    assertThat(c.kafka().client()).containsExactlyEntriesOf(Map.of("acks", "1"));
  }

  @Test
  void durationsAndSizesTakeUnitsAndTheOldMillisecondKeysStillWork() throws IOException {
    CollectorConfig c =
        ConfigLoader.load(
            null,
            Map.of("PHASEWATCH_CHUNKS_TIMEOUT_MS", "2500"),
            Map.of(
                "merge.timeout", "2m",
                "limits.run-idle-timeout-ms", "3600000",
                "limits.max-record-bytes", "1MiB",
                "merge.max-pending-bytes", "536870912"));
    assertThat(c.merge().timeoutMillis()).isEqualTo(120_000L);
    assertThat(c.limits().runIdleTimeoutMillis()).isEqualTo(3_600_000L);
    assertThat(c.chunks().timeoutMillis()).isEqualTo(2_500L);
    assertThat(c.limits().maxRecordBytes()).isEqualTo(1 << 20);
    assertThat(c.merge().maxPendingBytes()).isEqualTo(512L << 20);
    CollectorConfig d = CollectorConfig.defaults();
    assertThat(d.kafka().pollTimeoutMillis()).isEqualTo(200L);
    assertThat(d.limits().runIdleTimeoutMillis()).isEqualTo(1_800_000L);
    assertThat(d.chunks().timeoutMillis()).isEqualTo(60_000L);
    assertThat(d.merge().timeoutMillis()).isEqualTo(30_000L);
    assertThat(d.limits().maxRecordBytes()).isEqualTo(8 << 20);
    assertThat(d.limits().maxSnapshotBytes()).isEqualTo(256 << 20);
    assertThat(d.chunks().maxPendingBytes()).isEqualTo(256L << 20);
    assertThat(d.merge().maxPendingBytes()).isEqualTo(1L << 30);
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), Map.of("merge.timeout", "30000")))
        .hasMessageContaining("merge.timeout (--set merge.timeout)")
        .hasMessageContaining("a bare number has no unit");
  }
}
