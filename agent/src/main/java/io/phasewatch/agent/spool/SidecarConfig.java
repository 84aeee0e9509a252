package io.phasewatch.agent.spool;

import io.phasewatch.agent.config.AgentConfig;
import io.phasewatch.agent.config.AgentConfigLoader;
import io.phasewatch.core.arrays.MatrixFiles;
import io.phasewatch.core.config.ConfigException;
import io.phasewatch.core.config.ConfigKeys;
import io.phasewatch.core.config.ConfigSource;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * What the sidecar is told: the agent's own configuration (sketch choice, {@code publish.*}, {@code
 * kafka.*}) plus a {@code spool} section, read through the shared configuration layer in one pass.
 * Every key and default is in {@code docs/configuration.md} ("Sidecar"). The agent's {@code run} is
 * not needed here: each file names its run.
 *
 * @param agent the agent keys; only {@code sketch}, {@code queue.max-layers}, {@code publish} and
 *     {@code kafka} are used
 * @param spool the spool keys
 */
public record SidecarConfig(AgentConfig agent, Spool spool) {

  /** What errors call this configuration. */
  public static final String NAME = "sidecar config";

  /**
   * The agent's keys and the {@code spool} section. {@code run} defaults to a placeholder: the
   * agent's loader requires one, and each file names its own.
   */
  public static final ConfigKeys KEYS = keys();

  public SidecarConfig {
    Objects.requireNonNull(agent, "agent");
    Objects.requireNonNull(spool, "spool");
  }

  /**
   * @param dir the spool folder
   * @param keepDone move published files to {@code done/} instead of deleting them
   * @param maxBytes pending bytes the spool may hold; the oldest files beyond are dropped unread
   * @param maxFileBytes largest file read; larger ones are rejected
   * @param maxColumns widest matrix (d) read; wider ones are rejected
   * @param maxArrays most arrays (layers) in one {@code .npz} or {@code .safetensors} file
   * @param scanInterval period of the full scan that backs up the file-system watch
   * @param keepMaxFiles files kept in each of {@code done/} and {@code rejected/}; the oldest go
   * @param kafkaLogLevel the JDK logging level of the Kafka client's loggers (its INFO lines list
   *     every producer setting; WARNING by default)
   */
  public record Spool(
      Path dir,
      boolean keepDone,
      long maxBytes,
      long maxFileBytes,
      int maxColumns,
      int maxArrays,
      Duration scanInterval,
      int keepMaxFiles,
      java.util.logging.Level kafkaLogLevel) {
    public Spool {
      Objects.requireNonNull(dir, "spool.dir");
      Objects.requireNonNull(kafkaLogLevel, "spool.kafka-log-level");
      Objects.requireNonNull(scanInterval, "spool.scan-interval");
      positive("spool.max-bytes", maxBytes);
      positive("spool.max-file-bytes", maxFileBytes);
      positive("spool.max-arrays", maxArrays);
      positive("spool.keep-max-files", keepMaxFiles);
      if (maxColumns < 1 || maxColumns > MatrixFiles.MAX_COLUMNS) {
        throw new IllegalArgumentException(
            "sidecar config: spool.max-columns must be in [1, "
                + MatrixFiles.MAX_COLUMNS
                + "], got "
                + maxColumns);
      }
      if (scanInterval.toMillis() < 10) {
        throw new IllegalArgumentException(
            "sidecar config: spool.scan-interval must be ≥ 10ms, got " + scanInterval);
      }
    }

    /** The defaults for a spool in {@code dir}. */
    public static Spool defaults(Path dir) {
      return SidecarConfig.load("", Map.of(), Map.of("spool.dir", dir.toString())).spool();
    }
  }

  private static ConfigKeys keys() {
    var b = ConfigKeys.builder();
    AgentConfigLoader.KEYS.defaults().forEach((k, v) -> b.key(k, k.equals("run") ? "spool" : v));
    AgentConfigLoader.KEYS.passThroughPrefixes().forEach(b::passThrough);
    return b.key("spool.dir", null)
        .key("spool.keep-done", false)
        .key("spool.max-bytes", "1GiB")
        .key("spool.max-file-bytes", "256MiB")
        .key("spool.max-columns", 16_384)
        .key("spool.max-arrays", 64)
        .key("spool.scan-interval", "2s")
        .key("spool.keep-max-files", 1000)
        .key("spool.kafka-log-level", "WARNING")
        .build();
  }

  /**
   * YAML text (may be empty), then {@code PHASEWATCH_*} environment variables, then flags ({@code
   * key=value}, dotted keys), later ones winning; unknown keys are refused by name.
   */
  public static SidecarConfig load(
      String yaml, Map<String, String> env, Map<String, String> flags) {
    ConfigSource v =
        ConfigSource.reader(NAME, KEYS).yaml(yaml, "YAML").environment(env).flags(flags).read();
    AgentConfig agent = AgentConfigLoader.fromSource(v);
    Path dir =
        v.optionalString("spool.dir")
            .map(Path::of)
            .orElseThrow(
                () ->
                    new ConfigException(
                        "spool.dir", NAME + ": spool.dir is required (or --spool DIR)"));
    try {
      return new SidecarConfig(
          agent,
          new Spool(
              dir,
              v.bool("spool.keep-done"),
              v.bytes("spool.max-bytes"),
              v.bytes("spool.max-file-bytes"),
              v.integer("spool.max-columns"),
              v.integer("spool.max-arrays"),
              v.duration("spool.scan-interval"),
              v.integer("spool.keep-max-files"),
              v.logLevel("spool.kafka-log-level")));
    } catch (ConfigException e) {
      throw e;
    } catch (IllegalArgumentException e) {
      throw new ConfigException("", e.getMessage());
    }
  }

  private static void positive(String key, long value) {
    if (value < 1) {
      throw new IllegalArgumentException("sidecar config: " + key + " must be ≥ 1, got " + value);
    }
  }
}
