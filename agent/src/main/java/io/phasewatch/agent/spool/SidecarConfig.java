package io.phasewatch.agent.spool;

import io.phasewatch.agent.config.AgentConfig;
import io.phasewatch.agent.config.AgentConfigLoader;
import io.phasewatch.core.arrays.MatrixFiles;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the sidecar is told: the agent's own configuration (sketch choice, {@code publish.*}, {@code
 * kafka.*}) plus a {@code spool} section. Every key and default is in {@code docs/configuration.md}
 * ("Sidecar"). The agent's {@code run} is not needed here: each file names its run.
 *
 * @param agent the agent keys; only {@code sketch}, {@code queue.max-layers}, {@code publish} and
 *     {@code kafka} are used
 * @param spool the spool keys
 */
public record SidecarConfig(AgentConfig agent, Spool spool) {

  /** Keys of the {@code spool} section with their defaults ({@code null}: required). */
  static final Map<String, Object> DEFAULTS = defaults();

  private static final String ENV_PREFIX = "PHASEWATCH_SPOOL_";
  private static final Pattern BYTES =
      Pattern.compile("(\\d+)\\s*(B|KiB|MiB|GiB|TiB)?", Pattern.CASE_INSENSITIVE);
  private static final Pattern DURATION =
      Pattern.compile("(\\d+)\\s*(ms|s|m|h)", Pattern.CASE_INSENSITIVE);

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

  private static Map<String, Object> defaults() {
    var d = new LinkedHashMap<String, Object>();
    d.put("spool.dir", null);
    d.put("spool.keep-done", false);
    d.put("spool.max-bytes", "1GiB");
    d.put("spool.max-file-bytes", "256MiB");
    d.put("spool.max-columns", 16_384);
    d.put("spool.max-arrays", 64);
    d.put("spool.scan-interval", "2s");
    d.put("spool.keep-max-files", 1000);
    d.put("spool.kafka-log-level", "WARNING");
    return java.util.Collections.unmodifiableMap(d);
  }

  /**
   * YAML text (may be empty), then {@code PHASEWATCH_*} environment variables, then flags ({@code
   * key=value}, dotted keys), later ones winning. {@code spool.*} keys are read here; every other
   * key goes to {@link AgentConfigLoader}, which refuses unknown ones.
   */
  public static SidecarConfig load(
      String yaml, Map<String, String> env, Map<String, String> flags) {
    // One YAML parse for both: spool.* keys are the sidecar's, the rest the agent's.
    var rest = new LinkedHashMap<String, Object>();
    var values = new LinkedHashMap<String, Object>(DEFAULTS);
    for (var e : AgentConfigLoader.parseYaml(yaml).entrySet()) {
      if (e.getKey().startsWith("spool.")) {
        put(values, e.getKey(), e.getValue(), "YAML key");
      } else {
        rest.put(e.getKey(), e.getValue());
      }
    }
    for (var e : env.entrySet()) {
      if (e.getKey().startsWith(ENV_PREFIX)) {
        String key =
            "spool."
                + e.getKey()
                    .substring(ENV_PREFIX.length())
                    .toLowerCase(Locale.ROOT)
                    .replace('_', '-');
        put(values, key, e.getValue(), "environment variable " + e.getKey() + " →");
      }
    }
    var agentFlags = new LinkedHashMap<String, String>();
    for (var e : flags.entrySet()) {
      if (e.getKey().startsWith("spool.")) {
        put(values, e.getKey(), e.getValue(), "flag");
      } else {
        agentFlags.put(e.getKey(), e.getValue());
      }
    }
    // The agent's run id is required by its loader but unused here: files carry their run.
    if (!rest.containsKey("run") && !agentFlags.containsKey("run")) {
      rest.put("run", "spool");
    }
    AgentConfig agent = AgentConfigLoader.fromMap(rest, env, agentFlags);
    Object dir = values.get("spool.dir");
    if (dir == null || String.valueOf(dir).isBlank()) {
      throw new IllegalArgumentException("sidecar config: spool.dir is required (or --spool DIR)");
    }
    var spool =
        new Spool(
            Path.of(String.valueOf(dir)),
            bool(values, "spool.keep-done"),
            bytes(values, "spool.max-bytes"),
            bytes(values, "spool.max-file-bytes"),
            Math.toIntExact(integer(values, "spool.max-columns")),
            Math.toIntExact(integer(values, "spool.max-arrays")),
            duration(values, "spool.scan-interval"),
            Math.toIntExact(integer(values, "spool.keep-max-files")),
            level(values, "spool.kafka-log-level"));
    return new SidecarConfig(agent, spool);
  }

  private static void put(Map<String, Object> values, String key, Object value, String source) {
    if (!DEFAULTS.containsKey(key)) {
      throw new IllegalArgumentException(
          "sidecar config: unknown "
              + source
              + " '"
              + key
              + "' (known: "
              + String.join(", ", List.copyOf(DEFAULTS.keySet()))
              + ")");
    }
    values.put(key, value);
  }

  private static boolean bool(Map<String, Object> v, String key) {
    Object o = v.get(key);
    if (o instanceof Boolean b) {
      return b;
    }
    String s = String.valueOf(o).trim().toLowerCase(Locale.ROOT);
    if (s.equals("true") || s.equals("false")) {
      return Boolean.parseBoolean(s);
    }
    throw new IllegalArgumentException(
        "sidecar config: " + key + " must be true or false, got '" + o + "'");
  }

  private static long integer(Map<String, Object> v, String key) {
    Object o = v.get(key);
    try {
      return o instanceof Number n ? n.longValue() : Long.parseLong(String.valueOf(o).trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "sidecar config: " + key + " must be an integer, got '" + o + "'", e);
    }
  }

  private static long bytes(Map<String, Object> v, String key) {
    Object o = v.get(key);
    if (o instanceof Number n) {
      return n.longValue();
    }
    Matcher m = BYTES.matcher(String.valueOf(o).trim());
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "sidecar config: " + key + " must be bytes like 512MiB, got '" + o + "'");
    }
    int shift =
        m.group(2) == null
            ? 0
            : switch (m.group(2).toLowerCase(Locale.ROOT)) {
              case "kib" -> 10;
              case "mib" -> 20;
              case "gib" -> 30;
              case "tib" -> 40;
              default -> 0;
            };
    try {
      return Math.multiplyExact(Long.parseLong(m.group(1)), 1L << shift);
    } catch (ArithmeticException | NumberFormatException e) {
      throw new IllegalArgumentException("sidecar config: " + key + " too large: '" + o + "'", e);
    }
  }

  private static java.util.logging.Level level(Map<String, Object> v, String key) {
    String s = String.valueOf(v.get(key)).trim().toUpperCase(Locale.ROOT);
    try {
      return java.util.logging.Level.parse(s);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "sidecar config: "
              + key
              + " must be a JDK logging level (OFF, SEVERE, WARNING, INFO, FINE), got '"
              + v.get(key)
              + "'",
          e);
    }
  }

  private static Duration duration(Map<String, Object> v, String key) {
    Matcher m = DURATION.matcher(String.valueOf(v.get(key)).trim());
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "sidecar config: "
              + key
              + " must be a duration like 2s or 500ms, got '"
              + v.get(key)
              + "'");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2).toLowerCase(Locale.ROOT)) {
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      default -> Duration.ofHours(n);
    };
  }

  private static void positive(String key, long value) {
    if (value < 1) {
      throw new IllegalArgumentException("sidecar config: " + key + " must be ≥ 1, got " + value);
    }
  }
}
