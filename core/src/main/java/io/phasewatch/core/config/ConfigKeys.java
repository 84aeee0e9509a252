package io.phasewatch.core.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * The keys one process knows: each with its default (in the order of docs/configuration.md),
 * aliases that read as another key (a deprecated spelling, or a second natural one), and prefixes
 * under which any key passes through untouched ({@code kafka.} for the Kafka client's own
 * properties). Immutable; built once per process kind with {@link #builder}.
 */
public final class ConfigKeys {

  /** Environment variables start with this; the rest is the key, upper case, '.' and '-' as '_'. */
  public static final String ENV_PREFIX = "PHASEWATCH_";

  private final Map<String, Object> defaults;
  private final Map<String, Alias> aliases;
  private final List<String> passThrough;

  /**
   * A second name of a key.
   *
   * @param name the other spelling
   * @param key the key it sets
   * @param deprecated whether reading it should warn
   * @param convert turns a value given under {@code name} into one for {@code key} (a bare number
   *     of milliseconds into {@code "…ms"}, say)
   */
  record Alias(String name, String key, boolean deprecated, UnaryOperator<Object> convert) {}

  private ConfigKeys(Builder b) {
    this.defaults = Collections.unmodifiableMap(new LinkedHashMap<>(b.defaults));
    this.aliases = Collections.unmodifiableMap(new LinkedHashMap<>(b.aliases));
    this.passThrough = List.copyOf(b.passThrough);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Every key with its default ({@code null}: none), in declaration order. */
  public Map<String, Object> defaults() {
    return defaults;
  }

  /** Alias names, each with the key it sets. */
  public Map<String, String> aliases() {
    var out = new LinkedHashMap<String, String>();
    aliases.forEach((name, a) -> out.put(name, a.key()));
    return Collections.unmodifiableMap(out);
  }

  /** The deprecated alias names, each with the key that replaces it. */
  public Map<String, String> deprecatedAliases() {
    var out = new LinkedHashMap<String, String>();
    aliases.forEach(
        (name, a) -> {
          if (a.deprecated()) {
            out.put(name, a.key());
          }
        });
    return Collections.unmodifiableMap(out);
  }

  /** Prefixes (ending in '.') whose keys pass through unchecked, e.g. {@code kafka.}. */
  public List<String> passThroughPrefixes() {
    return passThrough;
  }

  /** Whether the key is known, as a key, an alias or under a pass-through prefix. */
  public boolean accepts(String key) {
    return defaults.containsKey(key)
        || aliases.containsKey(key)
        || passThroughPrefix(key).isPresent();
  }

  Optional<Alias> alias(String name) {
    return Optional.ofNullable(aliases.get(name));
  }

  /**
   * The pass-through prefix a key falls under. Kafka's property names are dotted lower-case words
   * and never hold a '-', while phasewatch's own keys do: so {@code kafka.dlq-topik} is a typo of a
   * phasewatch key, not a client property, and is refused like any unknown key.
   */
  Optional<String> passThroughPrefix(String key) {
    for (String prefix : passThrough) {
      if (key.startsWith(prefix)
          && key.length() > prefix.length()
          && key.indexOf('-', prefix.length()) < 0
          && !key.endsWith(".")
          && !key.contains("..")) {
        return Optional.of(prefix);
      }
    }
    return Optional.empty();
  }

  /**
   * The environment variable of a key: {@code kafka.group-id} → {@code PHASEWATCH_KAFKA_GROUP_ID}.
   */
  public static String envName(String key) {
    return ENV_PREFIX + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  /**
   * The key an environment variable sets, or empty when it names none of this process's keys (one
   * environment serves the agent and the collector alike, so such variables are not errors). A
   * variable under a pass-through prefix maps every further '_' to '.', as Kafka's own images do:
   * {@code PHASEWATCH_KAFKA_SASL_MECHANISM} → {@code kafka.sasl.mechanism}.
   */
  public Optional<String> keyOfEnv(String variable) {
    if (!variable.startsWith(ENV_PREFIX)) {
      return Optional.empty();
    }
    for (String key : defaults.keySet()) {
      if (envName(key).equals(variable)) {
        return Optional.of(key);
      }
    }
    for (String name : aliases.keySet()) {
      if (envName(name).equals(variable)) {
        return Optional.of(name);
      }
    }
    for (String prefix : passThrough) {
      String envPrefix = envName(prefix);
      if (variable.startsWith(envPrefix) && variable.length() > envPrefix.length()) {
        return Optional.of(
            prefix
                + variable
                    .substring(envPrefix.length())
                    .toLowerCase(Locale.ROOT)
                    .replace('_', '.'));
      }
    }
    return Optional.empty();
  }

  /** The known key (or alias) nearest to an unknown one, by edit distance. */
  public String closest(String unknown) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    var names = new ArrayList<String>(defaults.keySet());
    names.addAll(aliases.keySet());
    for (String name : names) {
      int d = editDistance(unknown, name);
      if (d < bestDistance) {
        bestDistance = d;
        best = name;
      }
    }
    return best;
  }

  /** Levenshtein distance; keys are short, so the plain two-row table is enough. */
  static int editDistance(String a, String b) {
    int[] previous = new int[b.length() + 1];
    int[] current = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      current[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int substitute = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        current[j] = Math.min(substitute, Math.min(previous[j], current[j - 1]) + 1);
      }
      int[] t = previous;
      previous = current;
      current = t;
    }
    return previous[b.length()];
  }

  /** Collects keys in the order they should be documented. */
  public static final class Builder {
    private final Map<String, Object> defaults = new LinkedHashMap<>();
    private final Map<String, Alias> aliases = new LinkedHashMap<>();
    private final List<String> passThrough = new ArrayList<>();

    private Builder() {}

    /**
     * A key and its default: a String, Number, Boolean or List as YAML would give it; {@code null}
     * when there is none (a required key, or an optional one).
     */
    public Builder key(String key, Object defaultValue) {
      Objects.requireNonNull(key, "key");
      if (defaults.containsKey(key) || aliases.containsKey(key)) {
        throw new IllegalStateException("key declared twice: " + key);
      }
      defaults.put(key, defaultValue);
      return this;
    }

    /** Every key of another set, in its order (the sidecar's keys are the agent's plus its own). */
    public Builder keys(ConfigKeys other) {
      other.defaults.forEach(this::key);
      other.aliases.values().forEach(a -> aliases.put(a.name(), a));
      other.passThrough.forEach(this::passThrough);
      return this;
    }

    /** A second spelling of {@code key}, read as if it were the key. */
    public Builder alias(String name, String key) {
      return alias(name, key, false, UnaryOperator.identity());
    }

    /**
     * An old spelling of {@code key}, still read (with a warning) and documented as deprecated;
     * {@code convert} turns its values into the key's syntax.
     */
    public Builder deprecated(String name, String key, UnaryOperator<Object> convert) {
      return alias(name, key, true, convert);
    }

    private Builder alias(String name, String key, boolean deprecated, UnaryOperator<Object> c) {
      if (!defaults.containsKey(key)) {
        throw new IllegalStateException("alias " + name + " of undeclared key " + key);
      }
      if (defaults.containsKey(name) || aliases.containsKey(name)) {
        throw new IllegalStateException("key declared twice: " + name);
      }
      aliases.put(name, new Alias(name, key, deprecated, c));
      return this;
    }

    /** Keys under {@code prefix} (ending in '.') pass through unchecked. */
    public Builder passThrough(String prefix) {
      if (!prefix.endsWith(".")) {
        throw new IllegalArgumentException("a pass-through prefix ends in '.': " + prefix);
      }
      if (!passThrough.contains(prefix)) {
        passThrough.add(prefix);
      }
      return this;
    }

    public ConfigKeys build() {
      return new ConfigKeys(this);
    }
  }
}
