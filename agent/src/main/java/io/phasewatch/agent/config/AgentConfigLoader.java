package io.phasewatch.agent.config;

import io.phasewatch.agent.config.AgentConfig.Kind;
import io.phasewatch.agent.config.AgentConfig.LayerOverride;
import io.phasewatch.agent.config.AgentConfig.Mode;
import io.phasewatch.core.config.ConfigException;
import io.phasewatch.core.config.ConfigKeys;
import io.phasewatch.core.config.ConfigSource;
import io.phasewatch.core.sketch.DefaultSummary;
import io.phasewatch.core.wire.SnapshotCodec;
import io.phasewatch.core.wire.Stage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads {@link AgentConfig} through the shared configuration layer ({@link ConfigSource}): YAML
 * first, then {@code PHASEWATCH_*} environment variables, then flags ({@code key=value} with the
 * dotted key), each overriding the one before. {@code kafka.*} keys pass through to the producer
 * untouched.
 */
public final class AgentConfigLoader {

  /** What errors call this configuration. */
  public static final String NAME = "agent config";

  private static final String KAFKA = "kafka.";
  private static final String OVERRIDES = "sketch.overrides";

  /** Every key the agent knows, with its default ({@code null}: none). Order is the docs' order. */
  public static final ConfigKeys KEYS =
      ConfigKeys.builder()
          .key("enabled", true)
          .key("run", null)
          .key("stage", "pretrain")
          .key("rank", 0)
          .key("world-size", 1)
          .key("sampling.mode", "live")
          .key("sampling.taps", List.of())
          .key("sampling.every-steps", 10)
          .key("sampling.rows-per-step", 64)
          .key("sampling.probe-sequences", 256)
          .key("sampling.probe-budget", 0.02)
          .key("window.steps", 100)
          // The shared default route (DefaultSummary): exact up to 1024 wide, the float32
          // co-moment up to 2688, the rows beyond.
          .key("sketch.exact-max-dim", DefaultSummary.EXACT_MAX_DIMENSION)
          .key("sketch.exact32-max-dim", DefaultSummary.FLOAT32_MAX_DIMENSION)
          .key("sketch.sample-rows", DefaultSummary.SAMPLE_ROWS)
          .key("sketch.sample-max-bytes", DefaultSummary.SAMPLE_MAX_BYTES)
          .key("sketch.fd-rows", 256)
          .key(OVERRIDES, List.of())
          .key("queue.max-rows", 65_536)
          .key("queue.max-bytes", "64MiB")
          .key("queue.max-layers", 64)
          .key("publish.enabled", true)
          .key("publish.topic", SnapshotCodec.DEFAULT_TOPIC)
          .key("publish.max-record-bytes", SnapshotCodec.DEFAULT_MAX_RECORD_BYTES)
          .key("publish.buffer-snapshots", 1024)
          .key("publish.buffer-bytes", "128MiB")
          .key("publish.spool-dir", null)
          .key("publish.spool-max-bytes", "1GiB")
          .key("publish.retry-backoff", "500ms")
          .key("publish.retry-backoff-max", "30s")
          .key("summary-interval", "5m")
          .passThrough(KAFKA)
          .build();

  private AgentConfigLoader() {}

  /** Reads a YAML file, then the process environment; no flags. */
  public static AgentConfig load(Path yamlFile) throws IOException {
    return load(Files.readString(yamlFile, StandardCharsets.UTF_8), System.getenv(), Map.of());
  }

  /** YAML text (may be empty), environment and flags, later ones winning. */
  public static AgentConfig load(String yaml, Map<String, String> env, Map<String, String> flags) {
    return fromSource(
        ConfigSource.reader(NAME, KEYS).yaml(yaml, "YAML").environment(env).flags(flags).read());
  }

  /** The typed record from values read with {@link #KEYS} (or a set that contains them). */
  public static AgentConfig fromSource(ConfigSource v) {
    if (v.optionalString("run").isEmpty()) {
      throw new ConfigException("run", v.name() + ": run is required (the training run's id)");
    }
    var kafka = new LinkedHashMap<String, String>();
    kafka.put("bootstrap.servers", "localhost:9092");
    kafka.putAll(v.passThrough(KAFKA));
    int fdRows = v.integer("sketch.fd-rows");
    try {
      return new AgentConfig(
          v.bool("enabled"),
          v.string("run"),
          stage(v, "stage"),
          v.integer("rank"),
          v.integer("world-size"),
          new AgentConfig.Sampling(
              v.enumValue("sampling.mode", Mode.class),
              v.strings("sampling.taps"),
              v.integer("sampling.every-steps"),
              v.integer("sampling.rows-per-step"),
              v.integer("sampling.probe-sequences"),
              v.real("sampling.probe-budget")),
          new AgentConfig.Window(v.integer("window.steps")),
          new AgentConfig.Sketch(
              v.integer("sketch.exact-max-dim"),
              v.integer("sketch.exact32-max-dim"),
              fdRows,
              v.integer("sketch.sample-rows"),
              v.bytes("sketch.sample-max-bytes"),
              overrides(v, v.raw(OVERRIDES), fdRows)),
          new AgentConfig.Queue(
              v.integer("queue.max-rows"),
              v.bytes("queue.max-bytes"),
              v.integer("queue.max-layers")),
          new AgentConfig.Publish(
              v.bool("publish.enabled"),
              v.string("publish.topic"),
              v.intBytes("publish.max-record-bytes"),
              v.integer("publish.buffer-snapshots"),
              v.bytes("publish.buffer-bytes"),
              v.optionalString("publish.spool-dir").map(Path::of),
              v.bytes("publish.spool-max-bytes"),
              v.duration("publish.retry-backoff"),
              v.duration("publish.retry-backoff-max"),
              kafka),
          v.duration("summary-interval"));
    } catch (ConfigException e) {
      throw e;
    } catch (IllegalArgumentException e) {
      // The records check ranges and name the key; only the line structure is ours to keep.
      throw new ConfigException("", e.getMessage().replaceAll("\\s*\\R\\s*", " "));
    }
  }

  private static List<LayerOverride> overrides(ConfigSource v, Object raw, int defaultFdRows) {
    if (!(raw instanceof List<?> list)) {
      throw v.bad(OVERRIDES, "a list of {layer, kind, fd-rows} (YAML only)");
    }
    var out = new ArrayList<LayerOverride>();
    for (int i = 0; i < list.size(); i++) {
      String where = OVERRIDES + "[" + i + "]";
      if (!(list.get(i) instanceof Map<?, ?> m)) {
        throw new ConfigException(OVERRIDES, v.name() + ": " + where + " must be a mapping");
      }
      var entry =
          ConfigKeys.builder()
              .key(where + ".layer", null)
              .key(where + ".kind", null)
              .key(where + ".fd-rows", defaultFdRows)
              .build();
      var flat = new LinkedHashMap<String, Object>();
      m.forEach((k, value) -> flat.put(where + "." + k, value));
      ConfigSource o =
          ConfigSource.reader(v.name(), entry).entries(flat, v.origin(OVERRIDES)).read();
      if (o.optionalString(where + ".layer").isEmpty()
          || o.optionalString(where + ".kind").isEmpty()) {
        throw new ConfigException(OVERRIDES, v.name() + ": " + where + " needs layer and kind");
      }
      out.add(
          new LayerOverride(
              o.string(where + ".layer"),
              o.enumValue(where + ".kind", Kind.class),
              o.integer(where + ".fd-rows")));
    }
    return out;
  }

  private static Stage stage(ConfigSource v, String key) {
    try {
      return Stage.fromLabel(v.string(key));
    } catch (ConfigException e) {
      throw e;
    } catch (IllegalArgumentException e) {
      throw v.problem(key, e.getMessage());
    }
  }
}
