package io.phasewatch.collector.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Every metric and label that a dashboard, rule or Grafana alert names is in docs/metrics.md. */
class MetricNamesContractTest {

  private final MetricsContract contract = MetricsContract.load();

  @Test
  void contractListsTheMetricsTheRulesAreBuiltOn() {
    assertThat(contract.metricNames())
        .contains(
            "phasewatch_phase",
            "phasewatch_phase_since_step",
            "phasewatch_last_step",
            "phasewatch_effective_rank",
            "phasewatch_effective_rank_max",
            "phasewatch_last_window_timestamp_seconds",
            "phasewatch_records_rejected_total");
    assertThat(contract.labels()).contains("run", "layer", "stage", "phase", "reason");
  }

  @Test
  void everyQueryOfTheDashboardsNamesOnlyContractMetrics() throws IOException {
    Map<String, String> queries = new LinkedHashMap<>();
    try (Stream<Path> files = Files.list(Repo.file("grafana/dashboards"))) {
      for (Path p : files.filter(f -> f.toString().endsWith(".json")).sorted().toList()) {
        collect(Repo.yaml(p), p.getFileName().toString(), queries);
      }
    }
    assertThat(queries).hasSizeGreaterThan(30);
    assertAllKnown(queries);
  }

  @Test
  void everyPrometheusRuleNamesOnlyContractMetrics() {
    Map<String, String> queries = new LinkedHashMap<>();
    for (String file :
        List.of(
            "deploy/prometheus/rules/phasewatch-alerts.yml",
            "deploy/prometheus/rules/phasewatch-recording.yml")) {
      collect(Repo.yaml(Repo.file(file)), file, queries);
    }
    assertThat(queries).hasSizeGreaterThanOrEqualTo(15);
    assertAllKnown(queries);
  }

  @Test
  void everyGrafanaAlertQueryNamesOnlyContractMetrics() {
    Map<String, String> queries = new LinkedHashMap<>();
    String file = "grafana/provisioning/alerting/phasewatch-alerts.yaml";
    collect(Repo.yaml(Repo.file(file)), file, queries);
    assertThat(queries).hasSizeGreaterThanOrEqualTo(8);
    assertAllKnown(queries);
  }

  @Test
  void aMisspeltMetricOrLabelIsReported() {
    assertThat(
            contract.unknownIn(
                "phasewatch_effective_rank_maximum{run=\"r\"} / on (run, lyer)"
                    + " phasewatch:no_such_rule"))
        .containsExactly(
            "metric phasewatch_effective_rank_maximum",
            "metric phasewatch:no_such_rule",
            "label lyer");
    assertThat(
            contract.unknownIn(
                "sum by (kind) (rate(phasewatch_spectrum_seconds_sum[5m])) / up{job=\"x\"}"))
        .isEmpty();
    assertThat(contract.unknownIn("rate(phasewatch_merges_total_count[5m])"))
        .containsExactly("metric phasewatch_merges_total_count");
  }

  private void assertAllKnown(Map<String, String> queries) {
    List<String> problems = new ArrayList<>();
    queries.forEach(
        (where, expr) -> {
          var unknown = contract.unknownIn(expr);
          if (!unknown.isEmpty()) {
            problems.add(where + ": " + unknown + " in " + expr);
          }
        });
    assertThat(problems).as("names missing from docs/metrics.md").isEmpty();
  }

  /**
   * Every string under a key that holds PromQL ({@code expr}, a variable's {@code query}) or a
   * template that runs PromQL (alert {@code annotations}), keyed by its path.
   */
  private static void collect(Object node, String path, Map<String, String> out) {
    if (node instanceof Map<?, ?> m) {
      m.forEach(
          (k, v) -> {
            String p = path + "." + k;
            if (v instanceof String s
                && ("expr".equals(k) || "query".equals(k) || path.endsWith(".annotations"))) {
              out.put(p, s);
            } else {
              collect(v, p, out);
            }
          });
    } else if (node instanceof List<?> l) {
      for (int i = 0; i < l.size(); i++) {
        collect(l.get(i), path + "[" + i + "]", out);
      }
    }
  }
}
