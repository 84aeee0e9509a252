package io.phasewatch.core.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The key tables of docs/configuration.md as the contract tests of each module read them: under a
 * heading, every row whose first cell names keys in backticks ({@code `a.b`, `.c`} is {@code a.b}
 * and {@code a.c}), with the default cell's first backticked text, or {@code null} for "—".
 */
public final class ConfigDocs {

  private static final Pattern CODE = Pattern.compile("`([^`]*)`");

  private ConfigDocs() {}

  /** docs/configuration.md, found from any module's working directory. */
  public static String read() {
    Path dir = Path.of("").toAbsolutePath();
    for (Path p = dir; p != null; p = p.getParent()) {
      Path doc = p.resolve("docs").resolve("configuration.md");
      if (Files.isRegularFile(doc)) {
        try {
          return Files.readString(doc, StandardCharsets.UTF_8);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    }
    throw new IllegalStateException("no docs/configuration.md above " + dir);
  }

  /**
   * The rows of the first table after {@code heading} (a whole line such as {@code "## Agent"}),
   * key → default as written; keys ending in {@code *} (pass-through rows) are left out.
   */
  public static Map<String, String> table(String doc, String heading) {
    int start = doc.indexOf("\n" + heading + "\n");
    if (start < 0) {
      throw new IllegalStateException("no heading " + heading);
    }
    var rows = new LinkedHashMap<String, String>();
    boolean inTable = false;
    for (String line : doc.substring(start + heading.length() + 2).split("\n")) {
      if (line.startsWith("|")) {
        inTable = true;
        String[] cells = line.split("(?<!\\\\)\\|");
        if (cells.length < 3 || !cells[1].trim().startsWith("`")) {
          continue;
        }
        List<String> keys = CODE.matcher(cells[1]).results().map(m -> m.group(1)).toList();
        String def = cells[2].trim();
        Matcher m = CODE.matcher(def);
        String value = def.startsWith("—") ? null : m.find() ? m.group(1) : def;
        String first = keys.get(0);
        for (String k : keys) {
          String key = k.startsWith(".") ? first.substring(0, first.lastIndexOf('.')) + k : k;
          if (!key.endsWith("*")) {
            rows.put(key, value);
          }
        }
      } else if (inTable) {
        break;
      }
    }
    return rows;
  }
}
