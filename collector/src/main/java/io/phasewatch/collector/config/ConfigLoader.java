package io.phasewatch.collector.config;

import io.phasewatch.collector.phase.PhaseDetectorConfig;
import io.phasewatch.core.config.ConfigException;
import io.phasewatch.core.config.ConfigKeys;
import io.phasewatch.core.config.ConfigSource;
import io.phasewatch.core.wire.Stage;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.UnaryOperator;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * Reads {@link CollectorConfig} through the shared configuration layer ({@link ConfigSource}): in
 * rising precedence the defaults, a YAML file (nested maps, e.g. {@code http: {port: 9090}}),
 * environment variables ({@code PHASEWATCH_HTTP_PORT}) and {@code key=value} overrides from the
 * command line. A key that is not in {@link #KEYS} is an error that names it. Other {@code kafka.*}
 * keys are Kafka client properties ({@code kafka.security.protocol}) handed to the consumer, the
 * dead-letter producer and the admin client, each the properties it knows. The {@code phases.*}
 * keys are the parameters of the phase detector ({@link PhaseDetectorConfig}, docs/phases.md),
 * their defaults taken from {@link PhaseDetectorConfig#defaults()} so the two cannot drift apart.
 */
public final class ConfigLoader {

  /** What errors call this configuration. */
  public static final String NAME = "collector config";

  /** Value of {@code phases.alpha-veto-trend} that turns the α veto off (its default). */
  public static final String VETO_OFF = "off";

  private static final Logger LOG = Logger.getLogger(ConfigLoader.class.getName());

  private static final String KAFKA = "kafka.";
  private static final String PHASES = "phases.";
  private static final String WARMUP = PHASES + "warmup-steps.";

  /** A camel-case field name of {@link PhaseDetectorConfig} in one of its messages. */
  private static final Pattern FIELD = Pattern.compile("\\b([a-z]+[A-Z][A-Za-z]*)\\b");

  /**
   * Kafka client properties the collector sets itself, because its correctness rests on them:
   * offsets are never committed and every partition is read from the start (the state is rebuilt
   * from the topic), records are bytes, and the clients' names tell ingest from dead letters.
   */
  static final Set<String> OWNED_CLIENT_PROPERTIES =
      Set.of(
          ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
          ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
          ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
          ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
          ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
          ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
          ConsumerConfig.CLIENT_ID_CONFIG);

  /**
   * Every key with its default, in the order of docs/configuration.md; aliases; {@code kafka.*}.
   */
  public static final ConfigKeys KEYS = keys();

  /** Every key with its default as text, in the order of docs/configuration.md. */
  public static final Map<String, String> DEFAULTS = textDefaults();

  private ConfigLoader() {}

  private static ConfigKeys keys() {
    PhaseDetectorConfig p = PhaseDetectorConfig.defaults();
    var b =
        ConfigKeys.builder()
            .key("kafka.bootstrap-servers", "127.0.0.1:9092")
            .key("kafka.topic", "phasewatch.sketches")
            .key("kafka.dlq-topic", "phasewatch.sketches.dlq")
            .key("kafka.group-id", "phasewatch-collector")
            .key("kafka.poll-timeout", "200ms")
            .key("kafka.client-log-level", "WARNING")
            .key("http.host", "127.0.0.1")
            .key("http.port", "8080")
            .key("limits.max-runs", "16")
            .key("limits.max-layers-per-run", "128")
            .key("limits.run-idle-timeout", "30m")
            .key("limits.max-dimension", "65536")
            .key("limits.max-ell", "4096")
            .key("limits.max-record-bytes", "8MiB")
            .key("limits.max-snapshot-bytes", "256MiB")
            .key("chunks.timeout", "60s")
            .key("chunks.max-pending-snapshots", "64")
            .key("chunks.max-pending-bytes", "256MiB")
            .key("merge.timeout", "30s")
            .key("merge.max-pending-windows-per-layer", "16")
            .key("merge.max-pending-bytes", "1GiB")
            .key("merge.remembered-windows", "64")
            .key("analysis.worker-threads", "2")
            .key("analysis.max-queued-windows", "256")
            .key("analysis.fit-range", "12:100")
            .key("api.max-points-per-layer", "10000")
            .key("api.max-events", "1000")
            .key(PHASES + "bin-log-steps", String.valueOf(p.binLogSteps()))
            .key(PHASES + "horizon-log-steps", String.valueOf(p.horizonLogSteps()))
            .key(PHASES + "min-points", String.valueOf(p.minPoints()))
            .key(PHASES + "enter-trend", String.valueOf(p.enterTrend()))
            .key(PHASES + "exit-trend", String.valueOf(p.exitTrend()))
            .key(PHASES + "enter-significance", String.valueOf(p.enterSignificance()))
            .key(PHASES + "exit-significance", String.valueOf(p.exitSignificance()))
            .key(PHASES + "turn-significance", String.valueOf(p.turnSignificance()))
            .key(PHASES + "min-effect", String.valueOf(p.minEffect()))
            .key(PHASES + "min-change", String.valueOf(p.minChange()))
            .key(PHASES + "min-span-log-steps", String.valueOf(p.minSpanLogSteps()))
            .key(PHASES + "noise-floor", String.valueOf(p.noiseFloor()))
            .key(
                PHASES + "alpha-veto-trend",
                p.alphaVetoTrend() == Double.POSITIVE_INFINITY
                    ? VETO_OFF
                    : String.valueOf(p.alphaVetoTrend()))
            .key(PHASES + "steady-duration-log-steps", String.valueOf(p.steadyDurationLogSteps()));
    for (Stage s : Stage.values()) {
      b.key(WARMUP + s.label(), String.valueOf(p.warmupSteps(s)));
    }
    // The agent's spelling of the two client properties the collector has keys for.
    b.alias("kafka.bootstrap.servers", "kafka.bootstrap-servers")
        .alias("kafka.group.id", "kafka.group-id");
    // Until 0.1 the collector's durations were whole milliseconds under *-ms keys.
    UnaryOperator<Object> millis =
        v ->
            v != null && String.valueOf(v).trim().matches("\\d+")
                ? String.valueOf(v).trim() + "ms"
                : v;
    b.deprecated("kafka.poll-timeout-ms", "kafka.poll-timeout", millis)
        .deprecated("limits.run-idle-timeout-ms", "limits.run-idle-timeout", millis)
        .deprecated("chunks.timeout-ms", "chunks.timeout", millis)
        .deprecated("merge.timeout-ms", "merge.timeout", millis);
    return b.passThrough(KAFKA).build();
  }

  private static Map<String, String> textDefaults() {
    var d = new LinkedHashMap<String, String>();
    KEYS.defaults().forEach((k, v) -> d.put(k, String.valueOf(v)));
    return Collections.unmodifiableMap(d);
  }

  /** Reads the file (if any), this process's environment and the overrides. */
  public static CollectorConfig load(Path yamlFile, Map<String, String> overrides) {
    return load(yamlFile, System.getenv(), overrides);
  }

  /**
   * @param environment only the variables that name a collector key ({@link #envName}) or a {@code
   *     PHASEWATCH_KAFKA_*} client property are read; one environment also serves the agent
   */
  public static CollectorConfig load(
      Path yamlFile, Map<String, String> environment, Map<String, String> overrides) {
    ConfigSource v =
        ConfigSource.reader(NAME, KEYS)
            .yamlFile(yamlFile)
            .environment(environment)
            .flags(overrides)
            .read();
    try {
      return build(v);
    } catch (ConfigException e) {
      throw e;
    } catch (IllegalArgumentException e) {
      throw new ConfigException("", e.getMessage());
    }
  }

  /** The environment variable that sets a key, e.g. {@code PHASEWATCH_HTTP_PORT}. */
  public static String envName(String key) {
    return ConfigKeys.envName(key);
  }

  private static CollectorConfig build(ConfigSource v) {
    return new CollectorConfig(
        new CollectorConfig.Kafka(
            v.string("kafka.bootstrap-servers"),
            v.string("kafka.topic"),
            v.string("kafka.dlq-topic"),
            v.string("kafka.group-id"),
            v.duration("kafka.poll-timeout").toMillis(),
            v.logLevel("kafka.client-log-level"),
            clientProperties(v)),
        new CollectorConfig.Http(v.string("http.host"), v.integer("http.port")),
        new CollectorConfig.Limits(
            v.integer("limits.max-runs"),
            v.integer("limits.max-layers-per-run"),
            v.duration("limits.run-idle-timeout").toMillis(),
            v.integer("limits.max-dimension"),
            v.integer("limits.max-ell"),
            v.intBytes("limits.max-record-bytes"),
            v.intBytes("limits.max-snapshot-bytes")),
        new CollectorConfig.Chunks(
            v.duration("chunks.timeout").toMillis(),
            v.integer("chunks.max-pending-snapshots"),
            v.bytes("chunks.max-pending-bytes")),
        new CollectorConfig.Merge(
            v.duration("merge.timeout").toMillis(),
            v.integer("merge.max-pending-windows-per-layer"),
            v.bytes("merge.max-pending-bytes"),
            v.integer("merge.remembered-windows")),
        new CollectorConfig.Analysis(
            v.integer("analysis.worker-threads"),
            v.integer("analysis.max-queued-windows"),
            v.string("analysis.fit-range")),
        new CollectorConfig.Api(v.integer("api.max-points-per-layer"), v.integer("api.max-events")),
        phases(v));
  }

  /**
   * The {@code kafka.*} client properties. One the collector sets itself, or one that none of its
   * three clients knows (a typo: {@code kafka.security.protocl}), is an error when it comes from
   * the file or a flag; from the environment it is left out with a warning, since the agents'
   * {@code PHASEWATCH_KAFKA_*} producer settings may share that environment.
   */
  private static Map<String, String> clientProperties(ConfigSource v) {
    var known = new TreeSet<String>(ConsumerConfig.configNames());
    known.addAll(ProducerConfig.configNames());
    known.addAll(AdminClientConfig.configNames());
    var out = new LinkedHashMap<String, String>();
    v.passThrough(KAFKA)
        .forEach(
            (property, value) -> {
              String key = KAFKA + property;
              String problem = null;
              if (OWNED_CLIENT_PROPERTIES.contains(property)) {
                problem = "set by the collector itself (offsets are rebuilt from the topic)";
              } else if (!known.contains(property)) {
                problem =
                    "not a Kafka consumer, producer or admin client property (closest: '"
                        + closest(property, known)
                        + "')";
              }
              if (problem == null) {
                out.put(property, value);
              } else if (v.origin(key).startsWith(ConfigKeys.ENV_PREFIX)) {
                LOG.warning(NAME + ": " + key + " (" + v.origin(key) + ") left out: " + problem);
              } else {
                throw v.problem(key, problem);
              }
            });
    return out;
  }

  private static String closest(String unknown, Set<String> names) {
    var keys = ConfigKeys.builder();
    names.forEach(n -> keys.key(n, null));
    return keys.build().closest(unknown);
  }

  private static PhaseDetectorConfig phases(ConfigSource v) {
    Map<Stage, Long> warmup = new java.util.EnumMap<>(Stage.class);
    for (Stage s : Stage.values()) {
      warmup.put(s, v.longValue(WARMUP + s.label()));
    }
    String veto = v.string(PHASES + "alpha-veto-trend");
    try {
      return new PhaseDetectorConfig(
          v.real(PHASES + "bin-log-steps"),
          v.real(PHASES + "horizon-log-steps"),
          v.integer(PHASES + "min-points"),
          v.real(PHASES + "enter-trend"),
          v.real(PHASES + "exit-trend"),
          v.real(PHASES + "enter-significance"),
          v.real(PHASES + "exit-significance"),
          v.real(PHASES + "turn-significance"),
          v.real(PHASES + "min-effect"),
          v.real(PHASES + "min-change"),
          v.real(PHASES + "min-span-log-steps"),
          v.real(PHASES + "noise-floor"),
          veto.equalsIgnoreCase(VETO_OFF)
              ? Double.POSITIVE_INFINITY
              : v.real(PHASES + "alpha-veto-trend"),
          v.real(PHASES + "steady-duration-log-steps"),
          warmup);
    } catch (ConfigException e) {
      throw e;
    } catch (IllegalArgumentException e) {
      throw new ConfigException("", NAME + ": " + phaseKeys(e.getMessage()));
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
}
