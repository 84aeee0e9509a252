package io.phasewatch.collector.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Prometheus rules, checked and unit-tested by the real promtool. */
class PromtoolRulesIT {

  private static final String ALERTS = "deploy/prometheus/rules/phasewatch-alerts.yml";
  private static final String RECORDING = "deploy/prometheus/rules/phasewatch-recording.yml";
  private static final String TESTS = "deploy/prometheus/tests/phasewatch-alerts.test.yml";

  @Test
  void promtoolAcceptsTheAlertAndRecordingRules() {
    Tool.Result r =
        Tool.run(
            Repo.root(),
            60,
            List.of(Tool.promtool().toString(), "check", "rules", ALERTS, RECORDING));
    assertThat(r.exitCode()).as(r.output()).isZero();
    assertThat(r.output()).contains("SUCCESS: 8 rules found").contains("SUCCESS: 10 rules found");
  }

  @Test
  void promtoolAcceptsThePrometheusConfigAndFindsItsRuleFiles() {
    Tool.Result r =
        Tool.run(
            Repo.root(),
            60,
            List.of(
                Tool.promtool().toString(), "check", "config", "deploy/prometheus/prometheus.yml"));
    assertThat(r.exitCode()).as(r.output()).isZero();
    // The rule files resolve relative to the config, as they do in the compose container.
    assertThat(r.output()).contains("SUCCESS: 2 rule files found");
  }

  @Test
  void everyAlertPassesItsPromtoolUnitTests() {
    Tool.Result r =
        Tool.run(Repo.root(), 120, List.of(Tool.promtool().toString(), "test", "rules", TESTS));
    assertThat(r.exitCode()).as(r.output()).isZero();
    assertThat(r.output()).contains("SUCCESS");
  }

  @Test
  void everyAlertHasACaseWhereItFiresAndACaseWhereItStaysQuiet() {
    Set<String> alerts = alertNames();
    Set<String> fires = new LinkedHashSet<>();
    Set<String> quiet = new LinkedHashSet<>();
    Map<?, ?> suite = Repo.map(Repo.yaml(Repo.file(TESTS)), TESTS);
    for (Object t : Repo.list(suite.get("tests"), "tests")) {
      for (Object a : Repo.list(Repo.map(t, "test").get("alert_rule_test"), "alert_rule_test")) {
        Map<?, ?> check = Repo.map(a, "alert_rule_test");
        String name = Repo.str(check.get("alertname"));
        if (Repo.list(check.get("exp_alerts"), "exp_alerts").isEmpty()) {
          quiet.add(name);
        } else {
          fires.add(name);
        }
      }
    }
    assertThat(fires).as("alerts with a firing case").containsExactlyInAnyOrderElementsOf(alerts);
    assertThat(quiet).as("alerts with a quiet case").containsExactlyInAnyOrderElementsOf(alerts);
  }

  /** The unit tests have teeth: without the headline rule, its firing case fails. */
  @Test
  void unitTestsFailWhenTheHeadlineAlertIsMissing(@TempDir Path dir) throws IOException {
    String alerts = Repo.read(Repo.file(ALERTS));
    int start = alerts.indexOf("      - alert: PhasewatchCompressionPhaseStarted");
    int end = alerts.indexOf("      # Post-training");
    assertThat(start).isPositive();
    assertThat(end).isGreaterThan(start);
    Tool.Result r = unitTestsWith(dir, alerts.substring(0, start) + alerts.substring(end));

    assertThat(r.exitCode()).as(r.output()).isNotZero();
    assertThat(r.output()).contains("PhasewatchCompressionPhaseStarted");
  }

  /**
   * The headline alert's training annotation is held to the onset: the same rules with the onset
   * gauges swapped for the run's latest ones (what the annotation showed before there were onset
   * gauges) fail its unit tests.
   */
  @Test
  void unitTestsFailWhenTheAnnotationShowsTheScalarsOfTheEvaluationTime(@TempDir Path dir)
      throws IOException {
    String alerts = Repo.read(Repo.file(ALERTS));
    Matcher onset =
        Pattern.compile(
                "printf \"phasewatch_phase_onset_training_(\\w+)\\{run='%s',layer='%s',stage='%s'\\}"
                    + " > -Inf\" \\$labels\\.run \\$labels\\.layer \\$labels\\.stage")
            .matcher(alerts);
    StringBuilder latest = new StringBuilder();
    int swapped = 0;
    while (onset.find()) {
      String metric = onset.group(1).equals("step") ? "scalars_step" : onset.group(1);
      onset.appendReplacement(
          latest,
          Matcher.quoteReplacement(
              "printf \"phasewatch_training_" + metric + "{run='%s'}\" $labels.run"));
      swapped++;
    }
    onset.appendTail(latest);
    assertThat(swapped).as("onset queries in the annotation").isEqualTo(3);
    Tool.Result r = unitTestsWith(dir, latest.toString());

    assertThat(r.exitCode()).as(r.output()).isNotZero();
    assertThat(r.output()).contains("compression phase carries the training scalars of its onset");
  }

  /** The shipped unit tests and recording rules run by promtool against {@code alerts}. */
  private static Tool.Result unitTestsWith(Path dir, String alerts) throws IOException {
    Files.writeString(dir.resolve("alerts.yml"), alerts, StandardCharsets.UTF_8);
    Files.copy(Repo.file(RECORDING), dir.resolve("recording.yml"));
    String tests =
        Repo.read(Repo.file(TESTS))
            .replace("../rules/phasewatch-alerts.yml", "alerts.yml")
            .replace("../rules/phasewatch-recording.yml", "recording.yml");
    Files.writeString(dir.resolve("tests.yml"), tests, StandardCharsets.UTF_8);
    return Tool.run(dir, 120, List.of(Tool.promtool().toString(), "test", "rules", "tests.yml"));
  }

  static Set<String> alertNames() {
    Set<String> names = new LinkedHashSet<>();
    for (Map<?, ?> rule : rules(ALERTS)) {
      names.add(Repo.str(rule.get("alert")));
    }
    return names;
  }

  static List<Map<?, ?>> rules(String file) {
    List<Map<?, ?>> out = new ArrayList<>();
    Map<?, ?> doc = Repo.map(Repo.yaml(Repo.file(file)), file);
    for (Object g : Repo.list(doc.get("groups"), "groups")) {
      for (Object r : Repo.list(Repo.map(g, "group").get("rules"), "rules")) {
        out.add(Repo.map(r, "rule"));
      }
    }
    return out;
  }
}
