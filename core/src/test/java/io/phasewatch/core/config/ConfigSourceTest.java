package io.phasewatch.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigSourceTest {

  private static final ConfigKeys KEYS =
      ConfigKeys.builder()
          .key("http.port", 8080)
          .key("queue.max-bytes", "64MiB")
          .key("merge.timeout", "30s")
          .key("taps", List.of())
          .key("run", null)
          .deprecated(
              "merge.timeout-ms",
              "merge.timeout",
              v -> String.valueOf(v).matches("\\d+") ? v + "ms" : v)
          .passThrough("kafka.")
          .build();

  private static ConfigSource read(String yaml, Map<String, String> env, Map<String, String> f) {
    return ConfigSource.reader("test config", KEYS)
        .yaml(yaml, "YAML")
        .environment(env)
        .flags(f)
        .read();
  }

  @Test
  void defaultsThenYamlThenEnvironmentThenFlagsEachWin() {
    ConfigSource c =
        read(
            "http: {port: 9000}\nqueue: {max-bytes: 8MiB}\nmerge: {timeout: 5s}\n",
            Map.of("PHASEWATCH_QUEUE_MAX_BYTES", "16MiB", "PHASEWATCH_MERGE_TIMEOUT", "7s"),
            Map.of("merge.timeout", "9s"));
    assertThat(c.integer("http.port")).isEqualTo(9000);
    assertThat(c.bytes("queue.max-bytes")).isEqualTo(16L << 20);
    assertThat(c.duration("merge.timeout")).isEqualTo(Duration.ofSeconds(9));
    assertThat(c.origin("queue.max-bytes")).isEqualTo("PHASEWATCH_QUEUE_MAX_BYTES");
    assertThat(c.origin("http.port")).isEqualTo("YAML");
    assertThat(c.isSet("run")).isFalse();
  }

  @Test
  void unknownKeyIsRejectedWithItsNameAndTheClosestKnownKey() {
    assertThatThrownBy(() -> read("http: {prot: 1}\n", Map.of(), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessage(
            "test config: unknown key 'http.prot' (YAML key in YAML); closest known key:"
                + " 'http.port'");
    assertThatThrownBy(() -> read("", Map.of(), Map.of("merge.timout", "1s")))
        .hasMessageContaining("unknown key 'merge.timout' (flag in --set merge.timout)")
        .hasMessageContaining("closest known key: 'merge.timeout'")
        .satisfies(e -> assertThat(((ConfigException) e).key()).isEqualTo("merge.timout"));
  }

  @Test
  void environmentVariablesThatNameNoKeyAreLeftAlone() {
    ConfigSource c = read("", Map.of("PHASEWATCH_COLLECTOR_PORT", "1", "HOME", "/root"), Map.of());
    assertThat(c.integer("http.port")).isEqualTo(8080);
  }

  @Test
  void passThroughKeysComeFromEverySourceWithTheirOwnSpelling() {
    ConfigSource c =
        read(
            "kafka:\n  security.protocol: SSL\n  ssl: {truststore.type: PKCS12}\n",
            Map.of("PHASEWATCH_KAFKA_SASL_MECHANISM", "PLAIN"),
            Map.of("kafka.ssl.truststore.location", "/t.p12"));
    assertThat(c.passThrough("kafka."))
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(
                "security.protocol", "SSL",
                "ssl.truststore.type", "PKCS12",
                "sasl.mechanism", "PLAIN",
                "ssl.truststore.location", "/t.p12"));
  }

  @Test
  void aPassThroughKeyWithAHyphenIsATypoOfAKeyNotAClientProperty() {
    assertThatThrownBy(() -> read("", Map.of(), Map.of("kafka.dlq-topik", "x")))
        .hasMessageContaining("unknown key 'kafka.dlq-topik'");
  }

  @Test
  void aDeprecatedKeyStillSetsItsSuccessorInItsOldUnit() {
    ConfigSource c = read("merge: {timeout-ms: 1500}\n", Map.of(), Map.of());
    assertThat(c.duration("merge.timeout")).isEqualTo(Duration.ofMillis(1500));
    assertThat(c.origin("merge.timeout")).isEqualTo("YAML as 'merge.timeout-ms'");
    ConfigSource env = read("", Map.of("PHASEWATCH_MERGE_TIMEOUT_MS", "250"), Map.of());
    assertThat(env.duration("merge.timeout")).isEqualTo(Duration.ofMillis(250));
  }

  @Test
  void badValuesNameKeySourceAndValue() {
    assertThatThrownBy(
            () -> read("", Map.of("PHASEWATCH_HTTP_PORT", "eighty"), Map.of()).integer("http.port"))
        .hasMessage(
            "test config: http.port (PHASEWATCH_HTTP_PORT): expected an integer, got 'eighty'");
    assertThatThrownBy(
            () -> read("", Map.of(), Map.of("merge.timeout", "30")).duration("merge.timeout"))
        .hasMessageContaining("merge.timeout (--set merge.timeout)")
        .hasMessageContaining("write 30ms or 30s");
    assertThatThrownBy(() -> read("", Map.of(), Map.of()).string("run"))
        .hasMessage("test config: run is required");
  }

  @Test
  void duplicateYamlKeysAndNonMappingsAreErrors() {
    assertThatThrownBy(() -> read("http: {port: 1}\nhttp: {port: 2}\n", Map.of(), Map.of()))
        .hasMessageContaining("invalid YAML")
        .hasMessageNotContaining("\n");
    assertThatThrownBy(() -> read("- a\n- b\n", Map.of(), Map.of()))
        .hasMessageContaining("must hold a mapping");
  }

  @Test
  void listsComeFromYamlSequencesOrCommaSeparatedText() {
    assertThat(read("taps: [a, b]\n", Map.of(), Map.of()).strings("taps"))
        .containsExactly("a", "b");
    assertThat(read("", Map.of("PHASEWATCH_TAPS", "a, b"), Map.of()).strings("taps"))
        .containsExactly("a", "b");
  }

  @Test
  void environmentNamesFollowOneRule() {
    assertThat(ConfigKeys.envName("kafka.group-id")).isEqualTo("PHASEWATCH_KAFKA_GROUP_ID");
    assertThat(KEYS.keyOfEnv("PHASEWATCH_KAFKA_SSL_KEYSTORE_TYPE"))
        .hasValue("kafka.ssl.keystore.type");
    assertThat(KEYS.keyOfEnv("PHASEWATCH_HTTP_PORT")).hasValue("http.port");
    assertThat(KEYS.keyOfEnv("PHASEWATCH_NOPE")).isEmpty();
  }
}
