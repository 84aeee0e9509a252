package io.phasewatch.collector.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The example Alertmanager config, checked and route-tested by the real amtool. */
class AlertmanagerConfigIT {

  private static final String CONFIG = "deploy/alertmanager/alertmanager.yml";

  @Test
  void amtoolAcceptsTheExampleConfig() {
    Tool.Result r =
        Tool.run(Repo.root(), 60, List.of(Tool.amtool().toString(), "check-config", CONFIG));
    assertThat(r.exitCode()).as(r.output()).isZero();
    assertThat(r.output()).contains("SUCCESS");
  }

  /** Every phasewatch alert, with the labels its rule sets, reaches the receiver meant for it. */
  @Test
  void everyAlertIsRoutedToTheReceiverForItsComponentAndSeverity() {
    for (Map<?, ?> rule : PromtoolRulesIT.rules("deploy/prometheus/rules/phasewatch-alerts.yml")) {
      Map<?, ?> labels = Repo.child(rule, "labels");
      String component = Repo.str(labels.get("component"));
      String severity = Repo.str(labels.get("severity"));
      String expected =
          switch (component) {
            case "training" ->
                "info".equals(severity)
                    ? "phasewatch-training-events"
                    : "phasewatch-training-oncall";
            case "collector" -> "phasewatch-platform";
            default -> throw new AssertionError("unknown component " + component);
          };
      List<String> cmd = new ArrayList<>();
      cmd.add(Tool.amtool().toString());
      cmd.addAll(
          List.of(
              "config",
              "routes",
              "test",
              "--config.file=" + CONFIG,
              "--verify.receivers=" + expected,
              "alertname=" + rule.get("alert")));
      labels.forEach((k, v) -> cmd.add(k + "=" + v));
      Tool.Result r = Tool.run(Repo.root(), 60, cmd);
      assertThat(r.exitCode()).as("%s → %s: %s", rule.get("alert"), expected, r.output()).isZero();
    }
  }

  @Test
  void routeTestFailsForTheWrongReceiver() {
    Tool.Result r =
        Tool.run(
            Repo.root(),
            60,
            List.of(
                Tool.amtool().toString(),
                "config",
                "routes",
                "test",
                "--config.file=" + CONFIG,
                "--verify.receivers=phasewatch-platform",
                "component=training",
                "severity=critical"));
    assertThat(r.exitCode()).as(r.output()).isNotZero();
  }
}
