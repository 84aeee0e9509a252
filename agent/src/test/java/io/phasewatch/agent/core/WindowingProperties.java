package io.phasewatch.agent.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.phasewatch.agent.config.AgentConfigLoader;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.Stage;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

class WindowingProperties {

  /**
   * Whatever K, run length and stage changes: every row lands in exactly one published window,
   * window ids strictly increase and equal the window's last step, a window closed by the step rule
   * ends on a K boundary (steps count from 1, so it holds steps wK + 1 … (w + 1)K), and each window
   * carries the stage in force when its rows arrived.
   */
  @Property(tries = 40)
  void everyRowLandsInExactlyOneWindowInOrder(
      @ForAll @IntRange(min = 1, max = 7) int k,
      @ForAll @IntRange(min = 1, max = 40) int steps,
      @ForAll @Size(max = 3) Set<@IntRange(min = 1, max = 40) Integer> stageChanges) {
    var publisher = new CapturingPublisher();
    var agent =
        PhasewatchAgent.builder(
                AgentConfigLoader.load("run: p\nwindow: {steps: " + k + "}\n", Map.of(), Map.of()))
            .sketches(new ReferenceSketches())
            .publisher(r -> publisher)
            .start();
    List<Stage> stages = List.of(Stage.SFT, Stage.DPO, Stage.RLVR);
    int changes = 0;
    Stage[] stageAt = new Stage[steps + 1];
    Stage current = Stage.PRETRAIN;
    for (int step = 1; step <= steps; step++) {
      if (stageChanges.contains(step)) {
        current = stages.get(changes++ % stages.size());
        agent.stageChanged(current, step);
      }
      stageAt[step] = current;
      agent.rows("x", step, new float[] {step, 1f - step}, 1, 2);
      agent.stepEnded(step, step, 0);
    }
    agent.close(Duration.ofSeconds(5));

    long rows = 0;
    long lastStep = 0;
    for (SnapshotRecord r : publisher.records) {
      long step = r.metadata().step();
      rows += r.snapshot().count();
      assertThat(r.metadata().windowId()).isEqualTo(step);
      assertThat(step).isGreaterThan(lastStep);
      // Rows of this window are steps lastStep+1 … step, one row each.
      long first = lastStep + 1;
      assertThat(r.snapshot().count()).isEqualTo(step - lastStep);
      assertThat(r.metadata().stage()).isEqualTo(stageAt[(int) first]);
      boolean boundary = step % k == 0;
      boolean cutByStage = stageChanges.contains((int) step + 1);
      boolean last = step == steps;
      assertThat(boundary || cutByStage || last).isTrue();
      // A window that starts on a boundary and closes on one spans exactly K steps.
      if (boundary && (first - 1) % k == 0) {
        assertThat(step - lastStep).isEqualTo(k);
      }
      lastStep = step;
    }
    assertThat(rows).isEqualTo(steps);
  }
}
