package io.phasewatch.core.config;

import java.util.Objects;

/**
 * A configuration error. Its message is one line that names the process, the key and the problem
 * ({@code collector config: http.port (flag): expected an integer, got 'eighty'}), so a command
 * line can print it as it is and exit.
 */
public final class ConfigException extends IllegalArgumentException {

  private static final long serialVersionUID = 1L;

  private final String key;

  /**
   * @param key the key at fault, or the empty string when the error is not about one key (a YAML
   *     document that does not parse)
   */
  public ConfigException(String key, String message) {
    super(Objects.requireNonNull(message, "message"));
    this.key = Objects.requireNonNull(key, "key");
  }

  /** The key at fault; empty when the error concerns the whole source. */
  public String key() {
    return key;
  }
}
