package io.phasewatch.collector.config;

import io.phasewatch.collector.phase.PhaseDetectorConfig;
import io.phasewatch.core.wire.Stage;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * Reads {@link CollectorConfig} from, in rising precedence: the defaults, a YAML file (nested maps,
 * e.g. {@code http: {port: 9090}}), environment variables ({@code PHASEWATCH_HTTP_PORT}) and {@code
 * key=value} overrides from the command line. A key that is not in {@link #DEFAULTS} is an error
 * that names it. The {@code phases.*} keys are the parameters of the phase detector ({@link
 * PhaseDetectorConfig}, docs/phases.md), their defaults taken from {@link
 * PhaseDetectorConfig#defaults()} so the two cannot drift apart.
 */
public final class ConfigLoader {

  /** Every key with its default, in the order of docs/configuration.md. */
  public static final Map<String, String> DEFAULTS;

  /** Environment variables start with this; the rest is the key, upper case, '.' and '-' as '_'. */
  public static final String ENV_PREFIX = "PHASEWATCH_";

  /** Value of {@code phases.alpha-veto-trend} that turns the α veto off (its default). */
  public static final String VETO_OFF = "off";

  private static final String PHASES = "phases.";
  private static final String WARMUP = PHASES + "warmup-steps.";

  /** A camel-case field name of {@link PhaseDetectorConfig} in one of its messages. */
  private static final Pattern FIELD = Pattern.compile("\\b([a-z]+[A-Z][A-Za-z]*)\\b");

  static {
    Map<String, String> d = new LinkedHashMap<>();
    d.put("kafka.bootstrap-servers", "127.0.0.1:9092");
    d.put("kafka.topic", "phasewatch.sketches");
    d.put("kafka.dlq-topic", "phasewatch.sketches.dlq");
    d.put("kafka.group-id", "phasewatch-collector");
    d.put("kafka.poll-timeout-ms", "200");
    d.put("kafka.client-log-level", "WARNING");
    d.put("http.host", "127.0.0.1");
    d.put("http.port", "8080");
    d.put("limits.max-runs", "16");
    d.put("limits.max-layers-per-run", "128");
    d.put("limits.run-idle-timeout-ms", "1800000");
    d.put("limits.max-dimension", "65536");
    d.put("limits.max-ell", "4096");
    d.put("limits.max-record-bytes", String.valueOf(8 << 20));
    d.put("limits.max-snapshot-bytes", String.valueOf(256 << 20));
    d.put("chunks.timeout-ms", "60000");
    d.put("chunks.max-pending-snapshots", "64");
    d.put("chunks.max-pending-bytes", String.valueOf(256L << 20));
    d.put("merge.timeout-ms", "30000");
    d.put("merge.max-pending-windows-per-layer", "16");
    d.put("merge.max-pending-bytes", String.valueOf(1L << 30));
    d.put("merge.remembered-windows", "64");
    d.put("analysis.worker-threads", "2");
    d.put("analysis.max-queued-windows", "256");
    d.put("analysis.fit-range", "12:100");
    d.put("api.max-points-per-layer", "10000");
    d.put("api.max-events", "1000");
    PhaseDetectorConfig p = PhaseDetectorConfig.defaults();
    d.put(PHASES + "window-log-steps", String.valueOf(p.windowLogSteps()));
    d.put(PHASES + "bins-per-window", String.valueOf(p.binsPerWindow()));
    d.put(PHASES + "min-points", String.valueOf(p.minPoints()));
    d.put(PHASES + "enter-trend", String.valueOf(p.enterTrend()));
    d.put(PHASES + "exit-trend", String.valueOf(p.exitTrend()));
    d.put(PHASES + "enter-significance", String.valueOf(p.enterSignificance()));
    d.put(PHASES + "exit-significance", String.valueOf(p.exitSignificance()));
    d.put(
        PHASES + "alpha-veto-trend",
        p.alphaVetoTrend() == Double.POSITIVE_INFINITY
            ? VETO_OFF
            : String.valueOf(p.alphaVetoTrend()));
    d.put(PHASES + "min-duration-points", String.valueOf(p.minDurationPoints()));
    d.put(PHASES + "min-duration-log-steps", String.valueOf(p.minDurationLogSteps()));
    d.put(PHASES + "steady-duration-log-steps", String.valueOf(p.steadyDurationLogSteps()));
    for (Stage s : Stage.values()) {
      d.put(WARMUP + s.label(), String.valueOf(p.warmupSteps(s)));
    }
    DEFAULTS = Collections.unmodifiableMap(d);
  }

  private ConfigLoader() {}

  /** Reads the file (if any), this process's environment and the overrides. */
  public static CollectorConfig load(Path yamlFile, Map<String, String> overrides) {
    return load(yamlFile, System.getenv(), overrides);
  }

  /**
   * @param environment only the variables that name a collector key ({@link #envName}) are read;
   *     one environment also serves the agent, whose {@code PHASEWATCH_*} variables are left alone
   */
  public static CollectorConfig load(
      Path yamlFile, Map<String, String> environment, Map<String, String> overrides) {
    Map<String, String> values = new LinkedHashMap<>(DEFAULTS);
    if (yamlFile != null) {
      Map<String, String> fromFile = new LinkedHashMap<>();
      flatten("", readYaml(yamlFile), fromFile, yamlFile.toString());
      putChecked(values, fromFile, "file " + yamlFile);
    }
    Map<String, String> fromEnv = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : environment.entrySet()) {
      String key = keyForEnv(e.getKey());
      if (key != null) {
        fromEnv.put(key, e.getValue());
      }
    }
    putChecked(values, fromEnv, "environment");
    putChecked(values, overrides, "command line");
    return build(values);
  }

  /** The environment variable that sets a key, e.g. {@code PHASEWATCH_HTTP_PORT}. */
  public static String envName(String key) {
    return ENV_PREFIX + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  private static String keyForEnv(String name) {
    for (String key : DEFAULTS.keySet()) {
      if (envName(key).equals(name)) {
        return key;
      }
    }
    return null;
  }

  private static void putChecked(
      Map<String, String> values, Map<String, String> source, String where) {
    for (Map.Entry<String, String> e : source.entrySet()) {
      if (!DEFAULTS.containsKey(e.getKey())) {
        throw new IllegalArgumentException(
            "collector config: unknown key '"
                + e.getKey()
                + "' in "
                + where
                + " (known keys: "
                + String.join(", ", DEFAULTS.keySet())
                + ")");
      }
      values.put(e.getKey(), e.getValue());
    }
  }

  private static Object readYaml(Path file) {
    Yaml yaml = new Yaml(new SafeConstructor(new LoaderOptions()));
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      Object root = yaml.load(r);
      return root == null ? Map.of() : root;
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "collector config: cannot read " + file + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          "collector config: " + file + " is not valid YAML: " + e.getMessage(), e);
    }
  }

  private static void flatten(String prefix, Object node, Map<String, String> out, String file) {
    if (node instanceof Map<?, ?> map) {
      for (Map.Entry<?, ?> e : map.entrySet()) {
        String name = String.valueOf(e.getKey());
        flatten(prefix.isEmpty() ? name : prefix + "." + name, e.getValue(), out, file);
      }
    } else if (node instanceof List<?> || node == null) {
      throw new IllegalArgumentException(
          "collector config: key '" + prefix + "' in " + file + " needs a single value");
    } else if (prefix.isEmpty()) {
      throw new IllegalArgumentException("collector config: " + file + " must hold a mapping");
    } else {
      out.put(prefix, String.valueOf(node));
    }
  }

  private static CollectorConfig build(Map<String, String> v) {
    return new CollectorConfig(
        new CollectorConfig.Kafka(
            v.get("kafka.bootstrap-servers"),
            v.get("kafka.topic"),
            v.get("kafka.dlq-topic"),
            v.get("kafka.group-id"),
            longValue(v, "kafka.poll-timeout-ms"),
            levelValue(v, "kafka.client-log-level")),
        new CollectorConfig.Http(v.get("http.host"), intValue(v, "http.port")),
        new CollectorConfig.Limits(
            intValue(v, "limits.max-runs"),
            intValue(v, "limits.max-layers-per-run"),
            longValue(v, "limits.run-idle-timeout-ms"),
            intValue(v, "limits.max-dimension"),
            intValue(v, "limits.max-ell"),
            intValue(v, "limits.max-record-bytes"),
            intValue(v, "limits.max-snapshot-bytes")),
        new CollectorConfig.Chunks(
            longValue(v, "chunks.timeout-ms"),
            intValue(v, "chunks.max-pending-snapshots"),
            longValue(v, "chunks.max-pending-bytes")),
        new CollectorConfig.Merge(
            longValue(v, "merge.timeout-ms"),
            intValue(v, "merge.max-pending-windows-per-layer"),
            longValue(v, "merge.max-pending-bytes"),
            intValue(v, "merge.remembered-windows")),
        new CollectorConfig.Analysis(
            intValue(v, "analysis.worker-threads"),
            intValue(v, "analysis.max-queued-windows"),
            v.get("analysis.fit-range")),
        new CollectorConfig.Api(
            intValue(v, "api.max-points-per-layer"), intValue(v, "api.max-events")),
        phases(v));
  }

  private static PhaseDetectorConfig phases(Map<String, String> v) {
    Map<Stage, Long> warmup = new java.util.EnumMap<>(Stage.class);
    for (Stage s : Stage.values()) {
      warmup.put(s, longValue(v, WARMUP + s.label()));
    }
    String veto = v.get(PHASES + "alpha-veto-trend").trim();
    try {
      return new PhaseDetectorConfig(
          doubleValue(v, PHASES + "window-log-steps"),
          intValue(v, PHASES + "bins-per-window"),
          intValue(v, PHASES + "min-points"),
          doubleValue(v, PHASES + "enter-trend"),
          doubleValue(v, PHASES + "exit-trend"),
          doubleValue(v, PHASES + "enter-significance"),
          doubleValue(v, PHASES + "exit-significance"),
          veto.equalsIgnoreCase(VETO_OFF)
              ? Double.POSITIVE_INFINITY
              : doubleValue(v, PHASES + "alpha-veto-trend"),
          intValue(v, PHASES + "min-duration-points"),
          doubleValue(v, PHASES + "min-duration-log-steps"),
          doubleValue(v, PHASES + "steady-duration-log-steps"),
          warmup);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("collector config: " + phaseKeys(e.getMessage()), e);
    }
  }

  /**
   * The detector's own messages name its fields ({@code exitTrend 0.2 outside [1.0E-6, 0.1]}); here
   * they name the configuration keys ({@code phases.exit-trend}) instead.
   */
  private static String phaseKeys(String message) {
    String text = message.replace("phase detector config: ", "");
    Matcher m = FIELD.matcher(text);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String kebab = m.group(1).replaceAll("([A-Z])", "-$1").toLowerCase(Locale.ROOT);
      boolean known = DEFAULTS.containsKey(PHASES + kebab) || (PHASES + kebab + ".").equals(WARMUP);
      m.appendReplacement(out, Matcher.quoteReplacement(known ? PHASES + kebab : m.group(1)));
    }
    m.appendTail(out);
    return out.toString();
  }

  private static java.util.logging.Level levelValue(Map<String, String> v, String key) {
    String text = v.get(key).trim();
    try {
      return java.util.logging.Level.parse(text.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "collector config: "
              + key
              + " = '"
              + text
              + "' is not a JDK logging level (OFF, SEVERE, WARNING, INFO, FINE)",
          e);
    }
  }

  private static double doubleValue(Map<String, String> v, String key) {
    String text = v.get(key).trim();
    try {
      double value = Double.parseDouble(text);
      if (Double.isNaN(value)) {
        throw new NumberFormatException("NaN");
      }
      return value;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "collector config: " + key + " = '" + text + "' is not a number", e);
    }
  }

  private static int intValue(Map<String, String> v, String key) {
    long value = longValue(v, key);
    if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "collector config: " + key + " = " + value + " does not fit an int");
    }
    return (int) value;
  }

  private static long longValue(Map<String, String> v, String key) {
    String text = v.get(key).trim();
    try {
      return Long.parseLong(text);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "collector config: " + key + " = '" + text + "' is not a whole number", e);
    }
  }
}
