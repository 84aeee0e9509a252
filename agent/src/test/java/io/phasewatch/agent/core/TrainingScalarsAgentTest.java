package io.phasewatch.agent.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Counter;
import io.phasewatch.agent.config.AgentConfig;
import io.phasewatch.agent.config.AgentConfigLoader;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.TrainingScalars;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The training scalars each window carries: averaged loss, latest learning rate and names. */
class TrainingScalarsAgentTest {

  private static AgentConfig config(String yaml) {
    return AgentConfigLoader.load("run: r1\n" + yaml, Map.of(), Map.of());
  }

  private static PhasewatchAgent agent(String yaml, CapturingPublisher publisher) {
    return PhasewatchAgent.builder(config(yaml))
        .sketches(new ReferenceSketches())
        .publisher(r -> publisher)
        .start();
  }

  private static final float[] ROWS = {1, 2, 3, 4, 5, 6, 7, 9};

  private static double dropped(PhasewatchAgent agent, String reason) {
    Counter c =
        agent
            .meterRegistry()
            .find("phasewatch.agent.scalars.dropped")
            .tag("reason", reason)
            .counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void liveWindowsCarryTheMeanLossOfTheirStepsAndTheLatestNamedValues() {
    var publisher = new CapturingPublisher();
    var agent = agent("window: {steps: 4}\n", publisher);
    // Window 1 (steps 1–4): losses 4, 3, NaN (not known), 1 → mean of three = 8/3.
    double[] losses = {4, 3, Double.NaN, 1, 0.5, 0.25, 0.5, 0.75};
    for (int step = 1; step <= 8; step++) {
      agent.rows("layers.0", step, ROWS, 2, 4);
      agent.rows("layers.1", step, ROWS, 2, 4);
      agent.recordScalar("learning_rate", 0.001 * step);
      if (step == 2 || step == 3) {
        agent.recordScalar("heldout.accuracy", step / 10.0);
      }
      agent.stepEnded(step, step, losses[step - 1]);
    }
    agent.close(Duration.ofSeconds(5));

    List<SnapshotRecord> records = publisher.records;
    assertThat(records).hasSize(4);
    TrainingScalars first = records.get(0).scalars();
    assertThat(first.values().get("loss")).isEqualTo(new TrainingScalars.Scalar(3, 8.0 / 3));
    assertThat(first.value("learning_rate")).hasValue(0.004);
    assertThat(first.value("heldout.accuracy")).hasValue(0.3);
    // Every layer's snapshot of a window carries the same scalars.
    assertThat(records.get(1).scalars()).isEqualTo(first);
    TrainingScalars second = records.get(2).scalars();
    assertThat(second.values().get("loss")).isEqualTo(new TrainingScalars.Scalar(4, 0.5));
    assertThat(second.value("learning_rate")).hasValue(0.008);
    assertThat(second.value("heldout.accuracy")).as("not recorded in window 2").isEmpty();
  }

  @Test
  void probeWindowsCarryTheStepsSinceThePreviousPass() {
    var publisher = new CapturingPublisher();
    var agent = agent("sampling: {mode: probe}\n", publisher);
    // Probe passes after steps 2 and 5; losses 10, 20 | 30, 40, 50 | 60 (closed by the flush).
    for (int step = 1; step <= 6; step++) {
      // As the DJL listener does: the step's learning rate, then its end.
      agent.recordScalar("learning_rate", step / 100.0);
      agent.stepEnded(step, step, 10.0 * step);
      if (step == 2 || step == 5) {
        agent.rows("probe", step, ROWS, 2, 4);
        agent.recordScalar("eval_loss", step);
      }
    }
    agent.rows("probe", 6, ROWS, 2, 4);
    agent.close(Duration.ofSeconds(5));

    List<SnapshotRecord> records = publisher.records;
    assertThat(records).extracting(r -> r.metadata().step()).containsExactly(2L, 5L, 6L);
    assertThat(records.get(0).scalars().values().get("loss"))
        .isEqualTo(new TrainingScalars.Scalar(2, 15.0));
    assertThat(records.get(0).scalars().value("eval_loss")).hasValue(2.0);
    assertThat(records.get(0).scalars().value("learning_rate")).hasValue(0.02);
    assertThat(records.get(1).scalars().value("learning_rate")).hasValue(0.05);
    assertThat(records.get(2).scalars().value("learning_rate")).hasValue(0.06);
    assertThat(records.get(1).scalars().values().get("loss"))
        .isEqualTo(new TrainingScalars.Scalar(3, 40.0));
    assertThat(records.get(1).scalars().value("eval_loss")).hasValue(5.0);
    assertThat(records.get(2).scalars().values().get("loss"))
        .isEqualTo(new TrainingScalars.Scalar(1, 60.0));
  }

  @Test
  void badNamesNonFiniteValuesAndTheReservedLossAreCountedAndDropped() {
    var publisher = new CapturingPublisher();
    var agent = agent("window: {steps: 1}\n", publisher);
    agent.recordScalar("Held Out", 1);
    agent.recordScalar(null, 1);
    agent.recordScalar("x".repeat(65), 1);
    agent.recordScalar("eval_loss", Double.NaN);
    agent.recordScalar("eval_loss", Double.POSITIVE_INFINITY);
    agent.recordScalar("loss", 1);
    agent.recordScalar("eval_loss", 2.5);
    agent.rows("layers.0", 1, ROWS, 2, 4);
    agent.stepEnded(1, 1, Double.NaN);
    agent.close(Duration.ofSeconds(5));

    assertThat(dropped(agent, "bad_name")).isEqualTo(3);
    assertThat(dropped(agent, "non_finite")).isEqualTo(2);
    assertThat(dropped(agent, "reserved_name")).isEqualTo(1);
    assertThat(publisher.records).singleElement();
    assertThat(publisher.records.get(0).scalars().values())
        .containsExactly(Map.entry("eval_loss", new TrainingScalars.Scalar(1, 2.5)));
  }

  @Test
  void aRunKeepsAtMostThirtyTwoNamesWithTheLossAmongThem() {
    var publisher = new CapturingPublisher();
    var agent = agent("window: {steps: 1}\n", publisher);
    for (int i = 0; i < 40; i++) {
      agent.recordScalar(String.format("s%02d", i), i);
    }
    agent.rows("layers.0", 1, ROWS, 2, 4);
    agent.stepEnded(1, 1, 2.0);
    agent.close(Duration.ofSeconds(5));

    TrainingScalars s = publisher.records.get(0).scalars();
    assertThat(s.values()).hasSize(TrainingScalars.MAX_SCALARS);
    assertThat(s.value("loss")).hasValue(2.0);
    assertThat(s.value("s30")).hasValue(30.0);
    assertThat(s.value("s31")).isEmpty();
    assertThat(dropped(agent, "name_limit")).isEqualTo(9);
  }

  @Test
  void aWindowWithoutRowsHandsItsScalarsToTheNext() {
    var publisher = new CapturingPublisher();
    var agent = agent("window: {steps: 2}\n", publisher);
    agent.stepEnded(1, 1, 1.0);
    agent.stepEnded(2, 2, 2.0); // closes window 1 with no rows: nothing is sent
    agent.rows("layers.0", 3, ROWS, 2, 4);
    agent.stepEnded(3, 3, 3.0);
    agent.stepEnded(4, 4, 4.0);
    agent.close(Duration.ofSeconds(5));

    assertThat(publisher.records).singleElement();
    assertThat(publisher.records.get(0).scalars().values().get("loss"))
        .isEqualTo(new TrainingScalars.Scalar(4, 2.5));
  }

  @Test
  void aDisabledAgentIgnoresScalars() {
    var agent = PhasewatchAgent.builder(config("enabled: false\n")).start();
    agent.recordScalar("Bad Name", Double.NaN);
    assertThat(dropped(agent, "bad_name")).isZero();
  }
}
