package io.phasewatch.collector.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Cross-references of the Grafana files: one datasource uid everywhere, variables that exist,
 * panels that do not overlap, and Grafana alert rules that are the Prometheus alerts.
 */
class GrafanaProvisioningTest {

  private static final String DATASOURCE_UID = "phasewatch-prometheus";
  private static final String GRAFANA_ALERTS =
      "grafana/provisioning/alerting/phasewatch-alerts.yaml";

  @Test
  void theDatasourceIsProvisionedUnderTheUidEveryQueryUses() throws IOException {
    Map<?, ?> ds =
        Repo.map(
            Repo.yaml(Repo.file("grafana/provisioning/datasources/phasewatch-prometheus.yaml")),
            "datasources");
    List<?> list = Repo.list(ds.get("datasources"), "datasources");
    assertThat(list).hasSize(1);
    Map<?, ?> prometheus = Repo.map(list.get(0), "datasource");
    assertThat(prometheus.get("uid")).isEqualTo(DATASOURCE_UID);
    assertThat(prometheus.get("type")).isEqualTo("prometheus");

    for (Path p : dashboards()) {
      List<Map<?, ?>> refs = new ArrayList<>();
      datasourceRefs(Repo.yaml(p), refs);
      assertThat(refs).as(p.toString()).isNotEmpty();
      for (Map<?, ?> ref : refs) {
        if ("grafana".equals(ref.get("type"))) {
          continue; // the built-in annotation query
        }
        assertThat(ref.get("type")).as(p + " " + ref).isEqualTo("prometheus");
        assertThat(ref.get("uid")).as(p + " " + ref).isEqualTo(DATASOURCE_UID);
      }
    }
    for (Map<?, ?> rule : grafanaRules().values()) {
      for (Object d : Repo.list(rule.get("data"), "data")) {
        assertThat(Repo.map(d, "data").get("datasourceUid")).isIn(DATASOURCE_UID, "__expr__");
      }
    }
  }

  @Test
  void dashboardsHaveUniqueUidsAndPanelIdsAndNoOverlappingPanels() throws IOException {
    Set<Object> uids = new HashSet<>();
    for (Path p : dashboards()) {
      Map<?, ?> d = Repo.map(Repo.yaml(p), p.toString());
      assertThat(uids.add(d.get("uid"))).as("uid of %s is unique", p).isTrue();
      Set<Object> ids = new HashSet<>();
      List<int[]> boxes = new ArrayList<>();
      for (Object o : Repo.list(d.get("panels"), "panels")) {
        Map<?, ?> panel = Repo.map(o, "panel");
        assertThat(ids.add(panel.get("id"))).as("%s panel id %s", p, panel.get("id")).isTrue();
        Map<?, ?> pos = Repo.child(panel, "gridPos");
        int[] box = {
          ((Number) pos.get("x")).intValue(),
          ((Number) pos.get("y")).intValue(),
          ((Number) pos.get("w")).intValue(),
          ((Number) pos.get("h")).intValue()
        };
        assertThat(box[0] + box[2])
            .as("%s %s fits 24 columns", p, panel.get("title"))
            .isLessThanOrEqualTo(24);
        for (int[] other : boxes) {
          boolean overlap =
              box[0] < other[0] + other[2]
                  && other[0] < box[0] + box[2]
                  && box[1] < other[1] + other[3]
                  && other[1] < box[1] + box[3];
          assertThat(overlap).as("%s: %s overlaps another panel", p, panel.get("title")).isFalse();
        }
        boxes.add(box);
      }
    }
  }

  @Test
  void everyVariableAQueryUsesIsDefinedByItsDashboard() throws IOException {
    Pattern use = Pattern.compile("\\$([a-z_]+)");
    for (Path p : dashboards()) {
      String json = Repo.read(p);
      Map<?, ?> d = Repo.map(Repo.yaml(p), p.toString());
      Set<String> defined = new HashSet<>();
      for (Object v : Repo.list(Repo.child(d, "templating").get("list"), "templating")) {
        defined.add(Repo.str(Repo.map(v, "variable").get("name")));
      }
      Matcher m = use.matcher(json);
      while (m.find()) {
        String name = m.group(1);
        if (name.startsWith("__")) {
          continue; // Grafana's global variables ($__range, $__rate_interval)
        }
        assertThat(defined).as("%s uses $%s", p.getFileName(), name).contains(name);
      }
    }
    Map<?, ?> run = Repo.map(Repo.yaml(Repo.file("grafana/dashboards/phasewatch-run.json")), "run");
    assertThat(Repo.list(Repo.child(run, "templating").get("list"), "templating"))
        .extracting(v -> Repo.str(Repo.map(v, "variable").get("name")))
        .contains("run", "layer");
  }

  /**
   * Each Prometheus alert {@code X op c} is a Grafana rule with query A = X and threshold C = (op,
   * c), the same {@code for} and the same labels: the two files cannot drift apart.
   */
  @Test
  void grafanaAlertRulesAreThePrometheusAlerts() {
    Map<String, Map<?, ?>> grafana = grafanaRules();
    List<Map<?, ?>> prometheus =
        PromtoolRulesIT.rules("deploy/prometheus/rules/phasewatch-alerts.yml");
    assertThat(grafana.keySet())
        .containsExactlyInAnyOrderElementsOf(
            prometheus.stream().map(r -> Repo.str(r.get("alert"))).toList());
    Pattern comparison = Pattern.compile("(.*) ([<>]) ([0-9.]+)");
    for (Map<?, ?> p : prometheus) {
      String name = Repo.str(p.get("alert"));
      Map<?, ?> g = grafana.get(name);
      Matcher m = comparison.matcher(normalize(Repo.str(p.get("expr"))));
      assertThat(m.matches()).as("%s ends in one comparison", name).isTrue();

      Map<String, Map<?, ?>> data = new LinkedHashMap<>();
      for (Object d : Repo.list(g.get("data"), "data")) {
        Map<?, ?> q = Repo.map(d, "data");
        data.put(Repo.str(q.get("refId")), Repo.child(q, "model"));
      }
      assertThat(g.get("condition")).isEqualTo("C");
      assertThat(unwrap(normalize(Repo.str(data.get("A").get("expr")))))
          .as(name)
          .isEqualTo(unwrap(m.group(1)));
      Map<?, ?> threshold = data.get("C");
      assertThat(threshold.get("type")).isEqualTo("threshold");
      assertThat(threshold.get("expression")).isEqualTo("A");
      Map<?, ?> evaluator =
          Repo.child(
              Repo.map(Repo.list(threshold.get("conditions"), "conditions").get(0), "c"),
              "evaluator");
      assertThat(evaluator.get("type")).as(name).isEqualTo(">".equals(m.group(2)) ? "gt" : "lt");
      double c = ((Number) Repo.list(evaluator.get("params"), "params").get(0)).doubleValue();
      assertThat(c).as(name).isEqualTo(Double.parseDouble(m.group(3)));
      assertThat(g.get("for")).as(name).isEqualTo(p.get("for"));
      assertThat(g.get("labels")).as(name).isEqualTo(p.get("labels"));
      assertThat(Repo.child(g, "annotations").keySet())
          .as(name)
          .extracting(Repo::str)
          .contains("summary", "description");
    }
  }

  private static Map<String, Map<?, ?>> grafanaRules() {
    Map<String, Map<?, ?>> rules = new LinkedHashMap<>();
    Map<?, ?> doc = Repo.map(Repo.yaml(Repo.file(GRAFANA_ALERTS)), GRAFANA_ALERTS);
    assertThat(doc.get("apiVersion")).isEqualTo(1);
    for (Object g : Repo.list(doc.get("groups"), "groups")) {
      Map<?, ?> group = Repo.map(g, "group");
      assertThat(group.get("folder")).isEqualTo("phasewatch");
      for (Object r : Repo.list(group.get("rules"), "rules")) {
        Map<?, ?> rule = Repo.map(r, "rule");
        rules.put(Repo.str(rule.get("title")), rule);
      }
    }
    return rules;
  }

  private static String normalize(String expr) {
    return expr.strip().replaceAll("\\s+", " ").replace("( ", "(").replace(" )", ")");
  }

  /** Drops one pair of parentheses around the whole expression, if they are one group. */
  private static String unwrap(String expr) {
    if (!expr.startsWith("(") || !expr.endsWith(")")) {
      return expr;
    }
    int depth = 0;
    for (int i = 0; i < expr.length(); i++) {
      depth += expr.charAt(i) == '(' ? 1 : expr.charAt(i) == ')' ? -1 : 0;
      if (depth == 0 && i < expr.length() - 1) {
        return expr;
      }
    }
    return expr.substring(1, expr.length() - 1).strip();
  }

  private static void datasourceRefs(Object node, List<Map<?, ?>> out) {
    if (node instanceof Map<?, ?> m) {
      m.forEach(
          (k, v) -> {
            if ("datasource".equals(k) && v instanceof Map<?, ?> ref) {
              out.add(ref);
            } else {
              datasourceRefs(v, out);
            }
          });
    } else if (node instanceof List<?> l) {
      l.forEach(e -> datasourceRefs(e, out));
    }
  }

  static List<Path> dashboards() throws IOException {
    try (Stream<Path> files = Files.list(Repo.file("grafana/dashboards"))) {
      return files.filter(p -> p.toString().endsWith(".json")).sorted().toList();
    }
  }
}
