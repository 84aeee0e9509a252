package io.phasewatch.core.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.logging.Logger;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * One process's configuration values, read from, in rising precedence: the defaults of its {@link
 * ConfigKeys}, a YAML document (nested maps, {@code http: {port: 9091}}), {@code PHASEWATCH_*}
 * environment variables and {@code key=value} flags. A key that is not known (nor an alias, nor
 * under a pass-through prefix) in the YAML or the flags is an error naming it and the closest known
 * key; environment variables that name no key are left alone, since one environment serves several
 * processes. Each value remembers where it came from, so an error says which file, variable or flag
 * to fix. The typed getters check the syntax; ranges belong to the records built from the values.
 */
public final class ConfigSource {

  private static final Logger LOG = Logger.getLogger(ConfigSource.class.getName());

  // Larger YAML files than this are not configuration; refuse them before parsing.
  private static final int MAX_YAML_CHARS = 1 << 20;

  private final String name;
  private final ConfigKeys keys;
  private final Map<String, Object> values;
  private final Map<String, String> origins;

  private ConfigSource(
      String name, ConfigKeys keys, Map<String, Object> values, Map<String, String> origins) {
    this.name = name;
    this.keys = keys;
    this.values = values;
    this.origins = origins;
  }

  /**
   * Starts reading.
   *
   * @param name what the errors call this configuration, e.g. {@code "collector config"}
   */
  public static Reader reader(String name, ConfigKeys keys) {
    return new Reader(name, keys);
  }

  /** Adds the sources in precedence order; {@link #read()} ends it. */
  public static final class Reader {
    private final String name;
    private final ConfigKeys keys;
    private final Map<String, Object> values = new LinkedHashMap<>();
    private final Map<String, String> origins = new LinkedHashMap<>();

    private Reader(String name, ConfigKeys keys) {
      this.name = name;
      this.keys = keys;
      keys.defaults().forEach((k, v) -> put(k, v, "default"));
    }

    /** A YAML file; {@code null} adds nothing. */
    public Reader yamlFile(Path file) {
      if (file == null) {
        return this;
      }
      String text;
      try {
        text = Files.readString(file, StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new ConfigException("", name + ": cannot read " + file + ": " + e.getMessage());
      }
      return yaml(text, "file " + file);
    }

    /**
     * A YAML document (may be empty). Duplicate keys are errors: the second of two {@code port:}
     * lines would otherwise win without a word.
     *
     * @param where how errors name the document, e.g. {@code "file c.yaml"}
     */
    public Reader yaml(String text, String where) {
      if (text.length() > MAX_YAML_CHARS) {
        throw new ConfigException(
            "",
            name
                + ": YAML of "
                + text.length()
                + " chars exceeds limit "
                + MAX_YAML_CHARS
                + " ("
                + where
                + ")");
      }
      var options = new LoaderOptions();
      options.setAllowDuplicateKeys(false);
      Object root;
      try {
        root = new Yaml(new SafeConstructor(options)).load(text);
      } catch (org.yaml.snakeyaml.error.YAMLException e) {
        throw new ConfigException(
            "", name + ": invalid YAML in " + where + ": " + oneLine(e.getMessage()));
      }
      if (root == null) {
        return this;
      }
      if (!(root instanceof Map<?, ?> map)) {
        throw new ConfigException("", name + ": " + where + " must hold a mapping of keys");
      }
      flatten("", map, where);
      return this;
    }

    private void flatten(String prefix, Map<?, ?> map, String where) {
      for (var e : map.entrySet()) {
        String key = prefix + e.getKey();
        Object value = e.getValue();
        // A mapping under a known key is that key's value (none is, today); anywhere else it is
        // a section, and pass-through sections nest too (kafka: {ssl: {truststore.type: JKS}}).
        if (value instanceof Map<?, ?> nested && !keys.defaults().containsKey(key)) {
          flatten(key + ".", nested, where);
        } else {
          set(key, value, "YAML key", where);
        }
      }
    }

    /** Environment variables; those that name none of the keys are ignored. */
    public Reader environment(Map<String, String> env) {
      // Sorted, so that an alias and its key set from one environment resolve the same way on
      // every machine.
      for (var e : new TreeMap<>(env).entrySet()) {
        Optional<String> key = keys.keyOfEnv(e.getKey());
        if (key.isPresent()) {
          set(key.get(), e.getValue(), "environment variable", e.getKey());
        }
      }
      return this;
    }

    /** Values with dotted keys from one place, e.g. the entries of a YAML list item. */
    public Reader entries(Map<String, ?> entries, String where) {
      entries.forEach((k, v) -> set(k, v, "key", where));
      return this;
    }

    /** {@code key=value} flags with dotted keys. */
    public Reader flags(Map<String, String> flags) {
      flags.forEach((k, v) -> set(k, v, "flag", "--set " + k));
      return this;
    }

    private void set(String key, Object value, String kind, String where) {
      if (!keys.accepts(key)) {
        throw new ConfigException(
            key,
            name
                + ": unknown key '"
                + key
                + "' ("
                + kind
                + " in "
                + where
                + "); closest known key: '"
                + keys.closest(key)
                + "'");
      }
      var alias = keys.alias(key);
      if (alias.isPresent()) {
        if (alias.get().deprecated()) {
          LOG.warning(
              name
                  + ": '"
                  + key
                  + "' ("
                  + where
                  + ") is deprecated; use '"
                  + alias.get().key()
                  + "'");
        }
        put(alias.get().key(), alias.get().convert().apply(value), where + " as '" + key + "'");
      } else {
        put(key, value, where);
      }
    }

    private void put(String key, Object value, String origin) {
      values.put(key, value);
      origins.put(key, origin);
    }

    public ConfigSource read() {
      return new ConfigSource(
          name,
          keys,
          Collections.unmodifiableMap(new LinkedHashMap<>(values)),
          Collections.unmodifiableMap(new LinkedHashMap<>(origins)));
    }
  }

  /** What errors call this configuration, e.g. {@code "agent config"}. */
  public String name() {
    return name;
  }

  /** The value as read (String, Number, Boolean, List, Map), or null when none was given. */
  public Object raw(String key) {
    checkKnown(key);
    return values.get(key);
  }

  /** Whether a value was given by a source other than the defaults. */
  public boolean isSet(String key) {
    checkKnown(key);
    return origins.containsKey(key) && !"default".equals(origins.get(key));
  }

  /** A required text value; blank counts as missing. */
  public String string(String key) {
    return optionalString(key).orElseThrow(() -> required(key));
  }

  /** A text value, empty when missing or blank. */
  public Optional<String> optionalString(String key) {
    Object o = raw(key);
    if (o instanceof List<?> || o instanceof Map<?, ?>) {
      throw bad(key, "a single value");
    }
    if (o == null || String.valueOf(o).isBlank()) {
      return Optional.empty();
    }
    return Optional.of(String.valueOf(o).trim());
  }

  public boolean bool(String key) {
    Object o = raw(key);
    if (o instanceof Boolean b) {
      return b;
    }
    String s = text(key).toLowerCase(Locale.ROOT);
    if (s.equals("true") || s.equals("false")) {
      return Boolean.parseBoolean(s);
    }
    throw bad(key, "true or false");
  }

  /** An integer of 32 bits. */
  public int integer(String key) {
    long l = longValue(key);
    if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
      throw bad(key, "an integer of 32 bits");
    }
    return (int) l;
  }

  public long longValue(String key) {
    Object o = raw(key);
    if (o instanceof Integer || o instanceof Long) {
      return ((Number) o).longValue();
    }
    try {
      return Long.parseLong(text(key));
    } catch (NumberFormatException e) {
      throw bad(key, "an integer");
    }
  }

  /** A finite or infinite number; NaN is refused. */
  public double real(String key) {
    Object o = raw(key);
    double d;
    if (o instanceof Number n) {
      d = n.doubleValue();
    } else {
      try {
        d = Double.parseDouble(text(key));
      } catch (NumberFormatException e) {
        throw bad(key, "a number");
      }
    }
    if (Double.isNaN(d)) {
      throw bad(key, "a number");
    }
    return d;
  }

  /** Bytes, in the syntax of {@link Units#bytes}. */
  public long bytes(String key) {
    Object o = raw(key);
    if (o instanceof Integer || o instanceof Long) {
      return ((Number) o).longValue();
    }
    try {
      return Units.bytes(text(key));
    } catch (IllegalArgumentException e) {
      throw problem(key, e.getMessage());
    }
  }

  /** A size that must fit an int (a record or buffer length). */
  public int intBytes(String key) {
    long b = bytes(key);
    if (b > Integer.MAX_VALUE) {
      throw bad(key, "a size below 2GiB");
    }
    return (int) b;
  }

  /** A duration, in the syntax of {@link Units#duration}. */
  public Duration duration(String key) {
    try {
      return Units.duration(text(key));
    } catch (IllegalArgumentException e) {
      throw problem(key, e.getMessage());
    }
  }

  /** A JDK logging level by name, any case: OFF, SEVERE, WARNING, INFO, CONFIG, FINE, …. */
  public java.util.logging.Level logLevel(String key) {
    try {
      return java.util.logging.Level.parse(text(key).trim().toUpperCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw bad(key, "a logging level (OFF, SEVERE, WARNING, INFO, FINE)");
    }
  }

  /** A list: a YAML sequence, or comma-separated text from the environment or a flag. */
  public List<String> strings(String key) {
    Object o = raw(key);
    if (o == null) {
      return List.of();
    }
    if (o instanceof List<?> list) {
      return list.stream().map(String::valueOf).toList();
    }
    if (o instanceof Map<?, ?>) {
      throw bad(key, "a list");
    }
    String s = String.valueOf(o).trim();
    return s.isEmpty() ? List.of() : List.of(s.split("\\s*,\\s*"));
  }

  /** One of the enum's constants, by name, case-insensitively. */
  public <E extends Enum<E>> E enumValue(String key, Class<E> type) {
    String s = text(key).toUpperCase(Locale.ROOT).replace('-', '_');
    for (E e : type.getEnumConstants()) {
      if (e.name().equals(s)) {
        return e;
      }
    }
    throw bad(
        key,
        "one of "
            + Arrays.stream(type.getEnumConstants())
                .map(e -> e.name().toLowerCase(Locale.ROOT))
                .toList());
  }

  /**
   * The keys under a pass-through prefix with the prefix removed, as text ({@code kafka.} → {@code
   * {security.protocol=SSL, …}}), in the order they were read.
   */
  public Map<String, String> passThrough(String prefix) {
    if (!keys.passThroughPrefixes().contains(prefix)) {
      throw new IllegalArgumentException("not a pass-through prefix: " + prefix);
    }
    var out = new LinkedHashMap<String, String>();
    values.forEach(
        (k, v) -> {
          if (!keys.defaults().containsKey(k)
              && keys.passThroughPrefix(k).filter(prefix::equals).isPresent()) {
            out.put(k.substring(prefix.length()), v == null ? "" : String.valueOf(v).trim());
          }
        });
    return Collections.unmodifiableMap(out);
  }

  /** Where a key's value came from: "default", "file c.yaml", "PHASEWATCH_HTTP_PORT", a flag. */
  public String origin(String key) {
    return origins.getOrDefault(key, "default");
  }

  /** An error about a key's value, naming the key, where it came from and the value. */
  public ConfigException bad(String key, String expected) {
    return problem(key, "expected " + expected);
  }

  /** An error about a key: {@code agent config: window.steps (flag --set window.steps): …}. */
  public ConfigException problem(String key, String problem) {
    Object value = values.get(key);
    String shown = value == null ? "" : ", got '" + oneLine(String.valueOf(value)) + "'";
    return new ConfigException(
        key, name + ": " + key + " (" + origin(key) + "): " + problem + shown);
  }

  private ConfigException required(String key) {
    return new ConfigException(key, name + ": " + key + " is required");
  }

  private String text(String key) {
    Object o = raw(key);
    if (o == null) {
      throw required(key);
    }
    if (o instanceof List<?> || o instanceof Map<?, ?>) {
      throw bad(key, "a single value");
    }
    return String.valueOf(o).trim();
  }

  private void checkKnown(String key) {
    if (!keys.accepts(key)) {
      throw new IllegalArgumentException(name + ": the code asked for undeclared key " + key);
    }
  }

  private static String oneLine(String s) {
    return s == null ? "" : s.replaceAll("\\s*\\R\\s*", " ").trim();
  }
}
