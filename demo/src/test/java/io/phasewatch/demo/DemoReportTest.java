package io.phasewatch.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The post-training findings label a stage by what the detector made of its windows. */
class DemoReportTest {

  @Test
  void aStageIsLabelledByItsTransitionsSteadyWhenItHadEnoughWindowsElseUnlabelled() {
    List<DemoReport.Point> points = new ArrayList<>();
    // SFT: 12 windows and an entropy-seeking phase; DPO: 12 windows, no transition; RLVR: 3.
    for (int i = 0; i < 12; i++) {
      points.add(new DemoReport.Point(100 + i, 20 + i, 2.0, "steady", "sft"));
    }
    for (int i = 0; i < 12; i++) {
      points.add(new DemoReport.Point(200 + i, 30, 2.0, "steady", "dpo"));
    }
    for (int i = 0; i < 3; i++) {
      points.add(new DemoReport.Point(300 + i, 30 - i, 2.0, "steady", "rlvr"));
    }
    DemoReport report =
        new DemoReport(
            "r",
            "final_norm",
            List.of(new DemoReport.LayerSeries("final_norm", points)),
            List.of(
                new DemoReport.Transition("final_norm", "sft", "steady", "entropy_seeking", 106)),
            List.of(
                new DemoReport.StageBoundary("sft", 100),
                new DemoReport.StageBoundary("dpo", 200),
                new DemoReport.StageBoundary("rlvr", 300)),
            new JsonObject());

    List<DemoReport.StageFinding> findings = report.stageFindings();

    assertThat(findings).extracting(DemoReport.StageFinding::windows).containsExactly(12, 12, 3);
    assertThat(findings)
        .extracting(DemoReport.StageFinding::label)
        .containsExactly("entropy_seeking", "steady", "unlabelled");
    assertThat(findings.get(0).verdict()).isEqualTo("matches the prediction");
    assertThat(findings.get(1).verdict())
        .isEqualTo("differs from the prediction: no RankMe trend the detector confirms");
    assertThat(findings.get(2).verdict()).contains("too few windows (3)");
    assertThat(
            report
                .toJson()
                .getJsonArray("post_training_geometry")
                .getJsonObject(1)
                .getString("label"))
        .isEqualTo("steady");
  }
}
