package io.phasewatch.collector.ops;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The metric names and labels of docs/metrics.md, read from its tables, and the check that a PromQL
 * expression names only those (plus recording rules defined in deploy/prometheus/rules and
 * Prometheus's own target labels).
 */
final class MetricsContract {

  private static final Pattern ROW =
      Pattern.compile("^\\|\\s*`(phasewatch_[a-z0-9_]+)`\\s*\\|(.*)$");
  private static final Pattern NAME = Pattern.compile("phasewatch[_:][A-Za-z0-9_:]*");
  private static final Pattern SELECTOR =
      Pattern.compile("([A-Za-z_:][A-Za-z0-9_:]*)\\s*\\{([^{}]*)\\}");
  private static final Pattern MATCHER =
      Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)\\s*(=~|!~|!=|=)");
  private static final Pattern GROUPING =
      Pattern.compile("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\(([^()]*)\\)");

  /** Labels Prometheus attaches to every scraped series, not named by the collector. */
  private static final Set<String> TARGET_LABELS = Set.of("job", "instance");

  private final Map<String, String> types;
  private final Set<String> labels;
  private final Set<String> recordingRules;

  private MetricsContract(Map<String, String> types, Set<String> labels, Set<String> recording) {
    this.types = types;
    this.labels = labels;
    this.recordingRules = recording;
  }

  static MetricsContract load() {
    return parse(
        Repo.read(Repo.file("docs/metrics.md")),
        Repo.read(Repo.file("deploy/prometheus/rules/phasewatch-recording.yml")));
  }

  /** Parses the markdown tables (name | type | unit | labels | meaning) and `record:` names. */
  static MetricsContract parse(String markdown, String recordingRules) {
    Map<String, String> types = new LinkedHashMap<>();
    Set<String> labels = new TreeSet<>(TARGET_LABELS);
    for (String line : markdown.split("\n")) {
      Matcher m = ROW.matcher(line.strip());
      if (!m.matches()) {
        continue;
      }
      String[] cells = m.group(2).split("\\|");
      if (cells.length < 3) {
        throw new IllegalStateException("docs/metrics.md: short table row: " + line);
      }
      types.put(m.group(1), cells[0].strip());
      for (String label : cells[2].split(",")) {
        String l = label.strip();
        if (l.matches("[a-z_]+")) {
          labels.add(l);
        }
      }
    }
    if (types.isEmpty()) {
      throw new IllegalStateException("docs/metrics.md: no metric table rows found");
    }
    Set<String> recording = new LinkedHashSet<>();
    Matcher r = Pattern.compile("(?m)^\\s*-\\s*record:\\s*(\\S+)").matcher(recordingRules);
    while (r.find()) {
      recording.add(r.group(1));
    }
    return new MetricsContract(types, labels, recording);
  }

  Set<String> metricNames() {
    return types.keySet();
  }

  Set<String> labels() {
    return labels;
  }

  /** Names and labels in {@code expr} that the contract does not define, in order of appearance. */
  Set<String> unknownIn(String expr) {
    Set<String> unknown = new LinkedHashSet<>();
    Matcher n = NAME.matcher(expr);
    while (n.find()) {
      String name = n.group();
      if (!known(name)) {
        unknown.add("metric " + name);
      }
    }
    Matcher s = SELECTOR.matcher(expr);
    while (s.find()) {
      Matcher l = MATCHER.matcher(s.group(2));
      while (l.find()) {
        if (!labels.contains(l.group(1)) && !"__name__".equals(l.group(1))) {
          unknown.add("label " + l.group(1));
        }
      }
    }
    Matcher g = GROUPING.matcher(expr);
    while (g.find()) {
      for (String label : g.group(2).split(",")) {
        String l = label.strip();
        if (!l.isEmpty() && !labels.contains(l)) {
          unknown.add("label " + l);
        }
      }
    }
    return unknown;
  }

  private boolean known(String name) {
    if (name.contains(":")) {
      return recordingRules.contains(name);
    }
    if (types.containsKey(name)) {
      return true;
    }
    // A summary is exposed as <name>_count and <name>_sum beside its quantiles.
    for (String suffix : new String[] {"_count", "_sum"}) {
      if (name.endsWith(suffix)) {
        String base = name.substring(0, name.length() - suffix.length());
        if ("summary".equals(types.get(base))) {
          return true;
        }
      }
    }
    return false;
  }
}
