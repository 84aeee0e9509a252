package io.phasewatch.agent.javaagent;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The Java agent's argument: {@code [FILE][;KEY=VALUE]...}, or {@code detach}. {@code FILE} is an
 * agent YAML configuration; each {@code KEY=VALUE} is an agent configuration key that overrides it
 * (the same keys as the YAML, lists comma-separated, e.g. {@code sampling.taps=layer*,final_norm}).
 * Semicolons separate the parts because commas already separate list items.
 *
 * @param configFile the YAML file, if given
 * @param flags configuration keys given on the argument, in order
 * @param detach true for {@code detach}: stop a running agent and restore the DJL classes
 */
public record AgentArgs(Optional<Path> configFile, Map<String, String> flags, boolean detach) {

  /** Longer arguments are not what the attach command or a command line writes. */
  static final int MAX_CHARS = 16_384;

  public AgentArgs {
    Objects.requireNonNull(configFile, "configFile");
    flags = Map.copyOf(flags);
  }

  /** Parses an agent argument; {@code null} or blank means no file and no flags. */
  public static AgentArgs parse(String arg) {
    if (arg == null || arg.isBlank()) {
      return new AgentArgs(Optional.empty(), Map.of(), false);
    }
    if (arg.length() > MAX_CHARS) {
      throw new IllegalArgumentException(
          "agent argument: " + arg.length() + " chars exceeds limit " + MAX_CHARS);
    }
    if (arg.strip().equals("detach")) {
      return new AgentArgs(Optional.empty(), Map.of(), true);
    }
    Path file = null;
    var flags = new LinkedHashMap<String, String>();
    String[] parts = arg.split(";", -1);
    for (int i = 0; i < parts.length; i++) {
      String part = parts[i].strip();
      if (part.isEmpty()) {
        continue;
      }
      int eq = part.indexOf('=');
      if (eq < 0) {
        if (file != null || i > 0) {
          throw new IllegalArgumentException(
              "agent argument: part " + (i + 1) + " '" + part + "' is not KEY=VALUE");
        }
        file = Path.of(part);
      } else if (eq == 0) {
        throw new IllegalArgumentException(
            "agent argument: part " + (i + 1) + " '" + part + "' has an empty key");
      } else {
        flags.put(part.substring(0, eq).strip(), part.substring(eq + 1).strip());
      }
    }
    return new AgentArgs(Optional.ofNullable(file), flags, false);
  }

  /** The argument that {@link #parse} reads back as this one. */
  public String format() {
    if (detach) {
      return "detach";
    }
    var sb = new StringBuilder(configFile.map(Path::toString).orElse(""));
    for (var e : flags.entrySet()) {
      if (e.getKey().contains(";") || e.getValue().contains(";") || e.getKey().contains("=")) {
        throw new IllegalArgumentException(
            "agent argument: key or value of " + e.getKey() + " holds ';' or the key '='");
      }
      sb.append(';').append(e.getKey()).append('=').append(e.getValue());
    }
    return sb.toString();
  }
}
