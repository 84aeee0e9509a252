package io.phasewatch.agent.config;

import io.phasewatch.agent.config.AgentConfig.Kind;
import io.phasewatch.agent.config.AgentConfig.LayerOverride;
import io.phasewatch.agent.config.AgentConfig.Mode;
import io.phasewatch.core.wire.SnapshotCodec;
import io.phasewatch.core.wire.Stage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * Reads {@link AgentConfig}: YAML first, then {@code PHASEWATCH_*} environment variables, then
 * flags ({@code key=value} with the dotted key), each overriding the one before. Keys are the
 * dotted paths of the YAML ({@code publish.topic}); {@code kafka.*} keys pass through to the
 * producer untouched. An unknown key in the YAML or the flags is an error naming it.
 */
public final class AgentConfigLoader {

  /** Every key the agent knows, with its default ({@code null}: none). Order is the docs' order. */
  static final Map<String, Object> DEFAULTS = defaults();

  private static final String ENV_PREFIX = "PHASEWATCH_";
  private static final String KAFKA = "kafka";
  private static final String OVERRIDES = "sketch.overrides";
  // Larger YAML files than this are not configuration; refuse them before parsing.
  private static final int MAX_YAML_CHARS = 1 << 20;

  private AgentConfigLoader() {}

  private static Map<String, Object> defaults() {
    var d = new LinkedHashMap<String, Object>();
    d.put("enabled", true);
    d.put("run", null);
    d.put("stage", "pretrain");
    d.put("rank", 0);
    d.put("world-size", 1);
    d.put("sampling.mode", "live");
    d.put("sampling.taps", List.of());
    d.put("sampling.every-steps", 10);
    d.put("sampling.rows-per-step", 64);
    d.put("sampling.probe-sequences", 256);
    d.put("sampling.probe-budget", 0.02);
    d.put("window.steps", 100);
    d.put("sketch.exact-max-dim", 1024);
    d.put("sketch.fd-rows", 256);
    d.put(OVERRIDES, List.of());
    d.put("queue.max-rows", 65_536);
    d.put("queue.max-bytes", "64MiB");
    d.put("queue.max-layers", 64);
    d.put("publish.enabled", true);
    d.put("publish.topic", SnapshotCodec.DEFAULT_TOPIC);
    d.put("publish.max-record-bytes", SnapshotCodec.DEFAULT_MAX_RECORD_BYTES);
    d.put("publish.buffer-snapshots", 1024);
    d.put("publish.buffer-bytes", "128MiB");
    d.put("publish.spool-dir", null);
    d.put("publish.spool-max-bytes", "1GiB");
    d.put("publish.retry-backoff", "500ms");
    d.put("publish.retry-backoff-max", "30s");
    d.put("summary-interval", "5m");
    return java.util.Collections.unmodifiableMap(d);
  }

  /** Reads a YAML file, then the process environment; no flags. */
  public static AgentConfig load(Path yamlFile) throws IOException {
    return load(Files.readString(yamlFile, StandardCharsets.UTF_8), System.getenv(), Map.of());
  }

  /** YAML text (may be empty), environment and flags, later ones winning. */
  public static AgentConfig load(String yaml, Map<String, String> env, Map<String, String> flags) {
    return fromMap(parseYaml(yaml), env, flags);
  }

  /**
   * The YAML document flattened to dotted keys ({@code publish: {topic: t}} → {@code
   * publish.topic}), for loaders that add their own sections before {@link #fromMap}.
   */
  public static Map<String, Object> parseYaml(String yaml) {
    if (yaml.length() > MAX_YAML_CHARS) {
      throw new IllegalArgumentException(
          "agent config: YAML of " + yaml.length() + " chars exceeds limit " + MAX_YAML_CHARS);
    }
    var options = new LoaderOptions();
    options.setAllowDuplicateKeys(false);
    Object root;
    try {
      root = new Yaml(new SafeConstructor(options)).load(yaml);
    } catch (org.yaml.snakeyaml.error.YAMLException e) {
      throw new IllegalArgumentException("agent config: invalid YAML: " + e.getMessage(), e);
    }
    var flat = new LinkedHashMap<String, Object>();
    if (root == null) {
      return flat;
    }
    if (!(root instanceof Map<?, ?> map)) {
      throw new IllegalArgumentException("agent config: the YAML document must be a mapping");
    }
    flatten("", map, flat);
    return flat;
  }

  private static void flatten(String prefix, Map<?, ?> map, Map<String, Object> out) {
    for (var e : map.entrySet()) {
      String key = prefix + e.getKey();
      Object value = e.getValue();
      if (key.equals(KAFKA) && value instanceof Map<?, ?> kafka) {
        for (var k : kafka.entrySet()) {
          out.put(KAFKA + "." + k.getKey(), String.valueOf(k.getValue()));
        }
      } else if (value instanceof Map<?, ?> nested && !DEFAULTS.containsKey(key)) {
        flatten(key + ".", nested, out);
      } else {
        out.put(key, value);
      }
    }
  }

  /** The typed record from flattened YAML values, environment and flags. */
  public static AgentConfig fromMap(
      Map<String, Object> yaml, Map<String, String> env, Map<String, String> flags) {
    var values = new LinkedHashMap<String, Object>(DEFAULTS);
    for (var e : yaml.entrySet()) {
      put(values, e.getKey(), e.getValue(), "YAML key");
    }
    for (var e : env.entrySet()) {
      String key = envKey(e.getKey());
      if (key != null) {
        put(values, key, e.getValue(), "environment variable " + e.getKey() + " →");
      }
    }
    for (var e : flags.entrySet()) {
      put(values, e.getKey(), e.getValue(), "flag");
    }
    return build(values);
  }

  private static void put(Map<String, Object> values, String key, Object value, String source) {
    if (!key.startsWith(KAFKA + ".") && !DEFAULTS.containsKey(key)) {
      throw new IllegalArgumentException(
          "agent config: unknown " + source + " '" + key + "' (known: " + knownKeys() + ")");
    }
    if (key.startsWith(KAFKA + ".") && key.length() == KAFKA.length() + 1) {
      throw new IllegalArgumentException("agent config: empty kafka key from " + source);
    }
    values.put(key, value);
  }

  private static String knownKeys() {
    return String.join(", ", DEFAULTS.keySet()) + ", kafka.*";
  }

  /**
   * {@code PHASEWATCH_PUBLISH_TOPIC} → {@code publish.topic}; {@code
   * PHASEWATCH_KAFKA_SASL_MECHANISM} → {@code kafka.sasl.mechanism} (every {@code _} a dot, as
   * Kafka's own images do). Variables that name no agent key return null: one environment serves
   * the collector and others too.
   */
  static String envKey(String variable) {
    if (!variable.startsWith(ENV_PREFIX)) {
      return null;
    }
    String rest = variable.substring(ENV_PREFIX.length());
    if (rest.startsWith("KAFKA_") && rest.length() > "KAFKA_".length()) {
      return KAFKA
          + "."
          + rest.substring("KAFKA_".length()).toLowerCase(Locale.ROOT).replace('_', '.');
    }
    for (String key : DEFAULTS.keySet()) {
      if (key.equals(OVERRIDES)) {
        continue;
      }
      if (key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_').equals(rest)) {
        return key;
      }
    }
    return null;
  }

  private static AgentConfig build(Map<String, Object> v) {
    Object run = v.get("run");
    if (run == null) {
      throw new IllegalArgumentException("agent config: run is required (the training run's id)");
    }
    var kafka = new LinkedHashMap<String, String>();
    kafka.put("bootstrap.servers", "localhost:9092");
    for (var e : v.entrySet()) {
      if (e.getKey().startsWith(KAFKA + ".")) {
        kafka.put(e.getKey().substring(KAFKA.length() + 1), String.valueOf(e.getValue()));
      }
    }
    Object spool = v.get("publish.spool-dir");
    return new AgentConfig(
        bool(v, "enabled"),
        String.valueOf(run),
        stage(v, "stage"),
        integer(v, "rank"),
        integer(v, "world-size"),
        new AgentConfig.Sampling(
            enumValue(v, "sampling.mode", Mode.class),
            strings(v, "sampling.taps"),
            integer(v, "sampling.every-steps"),
            integer(v, "sampling.rows-per-step"),
            integer(v, "sampling.probe-sequences"),
            real(v, "sampling.probe-budget")),
        new AgentConfig.Window(integer(v, "window.steps")),
        new AgentConfig.Sketch(
            integer(v, "sketch.exact-max-dim"),
            integer(v, "sketch.fd-rows"),
            overrides(v.get(OVERRIDES), integer(v, "sketch.fd-rows"))),
        new AgentConfig.Queue(
            integer(v, "queue.max-rows"),
            bytes(v, "queue.max-bytes"),
            integer(v, "queue.max-layers")),
        new AgentConfig.Publish(
            bool(v, "publish.enabled"),
            String.valueOf(v.get("publish.topic")),
            Math.toIntExact(bytes(v, "publish.max-record-bytes")),
            integer(v, "publish.buffer-snapshots"),
            bytes(v, "publish.buffer-bytes"),
            spool == null || String.valueOf(spool).isBlank()
                ? Optional.empty()
                : Optional.of(Path.of(String.valueOf(spool))),
            bytes(v, "publish.spool-max-bytes"),
            duration(v, "publish.retry-backoff"),
            duration(v, "publish.retry-backoff-max"),
            kafka),
        duration(v, "summary-interval"));
  }

  private static List<LayerOverride> overrides(Object raw, int defaultFdRows) {
    if (!(raw instanceof List<?> list)) {
      throw new IllegalArgumentException(
          "agent config: " + OVERRIDES + " must be a list of {layer, kind, fd-rows}");
    }
    var out = new ArrayList<LayerOverride>();
    for (int i = 0; i < list.size(); i++) {
      String where = OVERRIDES + "[" + i + "]";
      if (!(list.get(i) instanceof Map<?, ?> m)) {
        throw new IllegalArgumentException("agent config: " + where + " must be a mapping");
      }
      var entry = new LinkedHashMap<String, Object>();
      for (var e : m.entrySet()) {
        String k = String.valueOf(e.getKey());
        if (!List.of("layer", "kind", "fd-rows").contains(k)) {
          throw new IllegalArgumentException(
              "agent config: unknown key '" + where + "." + k + "' (known: layer, kind, fd-rows)");
        }
        entry.put(where + "." + k, e.getValue());
      }
      entry.putIfAbsent(where + ".fd-rows", defaultFdRows);
      if (entry.get(where + ".layer") == null || entry.get(where + ".kind") == null) {
        throw new IllegalArgumentException("agent config: " + where + " needs layer and kind");
      }
      out.add(
          new LayerOverride(
              String.valueOf(entry.get(where + ".layer")),
              enumValue(entry, where + ".kind", Kind.class),
              integer(entry, where + ".fd-rows")));
    }
    return out;
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
    throw bad(key, "true or false", o);
  }

  private static int integer(Map<String, Object> v, String key) {
    long l = longValue(v, key);
    if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
      throw bad(key, "an integer of 32 bits", v.get(key));
    }
    return (int) l;
  }

  private static long longValue(Map<String, Object> v, String key) {
    Object o = v.get(key);
    if (o instanceof Integer || o instanceof Long) {
      return ((Number) o).longValue();
    }
    try {
      return Long.parseLong(String.valueOf(o).trim());
    } catch (NumberFormatException e) {
      throw bad(key, "an integer", o);
    }
  }

  private static double real(Map<String, Object> v, String key) {
    Object o = v.get(key);
    if (o instanceof Number n) {
      return n.doubleValue();
    }
    try {
      return Double.parseDouble(String.valueOf(o).trim());
    } catch (NumberFormatException e) {
      throw bad(key, "a number", o);
    }
  }

  private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(B|KiB|MiB|GiB)?");
  private static final Pattern TIME = Pattern.compile("(\\d+)\\s*(ms|s|m|h)");

  private static long bytes(Map<String, Object> v, String key) {
    Object o = v.get(key);
    if (o instanceof Integer || o instanceof Long) {
      return ((Number) o).longValue();
    }
    Matcher m = SIZE.matcher(String.valueOf(o).trim());
    if (!m.matches()) {
      throw bad(key, "a size like 65536, 64KiB, 64MiB or 1GiB", o);
    }
    int shift =
        switch (m.group(2) == null ? "B" : m.group(2)) {
          case "KiB" -> 10;
          case "MiB" -> 20;
          case "GiB" -> 30;
          default -> 0;
        };
    try {
      long base = Long.parseLong(m.group(1));
      if (base > (Long.MAX_VALUE >> shift)) {
        throw bad(key, "a size below 2^63 bytes", o);
      }
      return base << shift;
    } catch (NumberFormatException e) {
      throw bad(key, "a size below 2^63 bytes", o);
    }
  }

  private static Duration duration(Map<String, Object> v, String key) {
    Object o = v.get(key);
    Matcher m = TIME.matcher(String.valueOf(o).trim());
    if (!m.matches()) {
      throw bad(key, "a duration like 500ms, 30s, 5m or 1h", o);
    }
    long n;
    try {
      n = Long.parseLong(m.group(1));
    } catch (NumberFormatException e) {
      throw bad(key, "a duration like 500ms, 30s, 5m or 1h", o);
    }
    return switch (m.group(2)) {
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      default -> Duration.ofHours(n);
    };
  }

  private static Stage stage(Map<String, Object> v, String key) {
    try {
      return Stage.fromLabel(String.valueOf(v.get(key)).trim());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("agent config: " + key + ": " + e.getMessage(), e);
    }
  }

  private static <E extends Enum<E>> E enumValue(Map<String, Object> v, String key, Class<E> type) {
    String s = String.valueOf(v.get(key)).trim().toUpperCase(Locale.ROOT);
    for (E e : type.getEnumConstants()) {
      if (e.name().equals(s)) {
        return e;
      }
    }
    throw bad(
        key,
        "one of "
            + java.util.Arrays.stream(type.getEnumConstants())
                .map(e -> e.name().toLowerCase(Locale.ROOT))
                .toList(),
        v.get(key));
  }

  private static List<String> strings(Map<String, Object> v, String key) {
    Object o = v.get(key);
    if (o instanceof List<?> list) {
      return list.stream().map(String::valueOf).toList();
    }
    // From the environment or a flag: comma-separated.
    String s = String.valueOf(o).trim();
    return s.isEmpty() ? List.of() : List.of(s.split("\\s*,\\s*"));
  }

  private static IllegalArgumentException bad(String key, String expected, Object got) {
    return new IllegalArgumentException(
        "agent config: " + key + ": expected " + expected + ", got '" + got + "'");
  }
}
