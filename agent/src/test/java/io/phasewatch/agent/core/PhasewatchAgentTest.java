package io.phasewatch.agent.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.phasewatch.agent.config.AgentConfig;
import io.phasewatch.agent.config.AgentConfigLoader;
import io.phasewatch.core.sketch.CovarianceSketch;
import io.phasewatch.core.sketch.CovarianceSnapshot;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.Stage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class PhasewatchAgentTest {

  private static AgentConfig config(String yaml) {
    return AgentConfigLoader.load("run: r1\n" + yaml, Map.of(), Map.of());
  }

  /** Row {@code i} of step {@code s}: distinct, known values. */
  private static float[] row(long s, int i, int d) {
    float[] r = new float[d];
    for (int j = 0; j < d; j++) {
      r[j] = (float) ((s + 1) * (j + 1) + (i * 7 + j * j) % 5);
    }
    return r;
  }

  @Test
  void liveWindowsSpanKStepsAndHoldExactlyTheirRows() {
    var publisher = new CapturingPublisher();
    var agent =
        PhasewatchAgent.builder(config("window: {steps: 3}\n"))
            .sketches(new ReferenceSketches())
            .publisher(r -> publisher)
            .start();
    int d = 4;
    float[] buffer = new float[2 * d + 5]; // longer than needed and reused, as the contract allows
    List<List<float[]>> expected = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
    // Steps count from 1, as a trainer counts them: windows hold steps 1–3, 4–6 and 7–9.
    for (long step = 1; step <= 9; step++) {
      for (int i = 0; i < 2; i++) {
        float[] r = row(step, i, d);
        System.arraycopy(r, 0, buffer, i * d, d);
        expected.get((int) ((step - 1) / 3)).add(r);
      }
      agent.rows("layers.0", step, buffer, 2, d);
      java.util.Arrays.fill(buffer, Float.NaN);
      agent.stepEnded(step, step * 128, 3.0);
    }
    agent.close(Duration.ofSeconds(5));

    assertThat(publisher.records).hasSize(3);
    for (int w = 0; w < 3; w++) {
      SnapshotRecord rec = publisher.records.get(w);
      assertThat(rec.metadata().windowId()).isEqualTo(3L * w + 3);
      assertThat(rec.metadata().step()).isEqualTo(3L * w + 3);
      assertThat(rec.metadata().tokensSeen()).isEqualTo((3L * w + 3) * 128);
      assertThat(rec.metadata().layer()).isEqualTo("layers.0");
      assertThat(rec.metadata().runId()).isEqualTo("r1");
      assertThat(rec.metadata().stage()).isEqualTo(Stage.PRETRAIN);
      assertThat(rec.metadata().samplesDropped()).isZero();
      assertThat(rec.snapshot().count()).isEqualTo(6); // K = 3 steps of 2 rows, none short
      assertThat(rec.snapshot()).isEqualTo(ReferenceSketches.summarize(expected.get(w), d));
    }
    assertThat(publisher.closed).isTrue();
  }

  @Test
  void anAgentRestartedWithAResumedTrainerGivesItsWindowsTheUninterruptedIds() {
    var uninterrupted = new CapturingPublisher();
    var first = new CapturingPublisher();
    var resumed = new CapturingPublisher();
    var whole =
        PhasewatchAgent.builder(config("window: {steps: 5}\n"))
            .sketches(new ReferenceSketches())
            .publisher(r -> uninterrupted)
            .start();
    for (long step = 1; step <= 20; step++) {
      whole.rows("h", step, row(step, 0, 3), 1, 3);
      whole.stepEnded(step, step, 1.0);
    }
    whole.close(Duration.ofSeconds(5));
    // The same run, stopped after step 12 and resumed from its checkpoint at step 10 by a new
    // agent: steps 11 and 12 run twice, as they do when a trainer resumes.
    var before =
        PhasewatchAgent.builder(config("window: {steps: 5}\n"))
            .sketches(new ReferenceSketches())
            .publisher(r -> first)
            .start();
    for (long step = 1; step <= 12; step++) {
      before.rows("h", step, row(step, 0, 3), 1, 3);
      before.stepEnded(step, step, 1.0);
    }
    before.close(Duration.ofSeconds(5));
    var after =
        PhasewatchAgent.builder(config("window: {steps: 5}\n"))
            .sketches(new ReferenceSketches())
            .publisher(r -> resumed)
            .start();
    for (long step = 11; step <= 20; step++) {
      after.rows("h", step, row(step, 0, 3), 1, 3);
      after.stepEnded(step, step, 1.0);
    }
    after.close(Duration.ofSeconds(5));

    assertThat(uninterrupted.records)
        .extracting(r -> r.metadata().windowId())
        .containsExactly(5L, 10L, 15L, 20L);
    // Before the stop: the windows up to the checkpoint, and the open one flushed at close.
    assertThat(first.records)
        .extracting(r -> r.metadata().windowId())
        .containsExactly(5L, 10L, 12L);
    // After the resume: the same ids and rows as the uninterrupted run's windows, so a collector
    // merges them as the same windows rather than rejecting them as late.
    assertThat(resumed.records).extracting(r -> r.metadata().windowId()).containsExactly(15L, 20L);
    for (int w = 0; w < 2; w++) {
      assertThat(resumed.records.get(w).snapshot())
          .isEqualTo(uninterrupted.records.get(w + 2).snapshot());
    }
  }

  @Test
  void stageChangeClosesTheOpenWindowAndTagsLaterOnes() {
    var publisher = new CapturingPublisher();
    var agent =
        PhasewatchAgent.builder(config("window: {steps: 10}\n"))
            .sketches(new ReferenceSketches())
            .publisher(r -> publisher)
            .start();
    for (long step = 1; step <= 14; step++) {
      if (step == 5) {
        agent.stageChanged(Stage.SFT, 5);
      }
      agent.rows("h", step, row(step, 0, 3), 1, 3);
      agent.stepEnded(step, step, 1.0);
    }
    agent.close(Duration.ofSeconds(5));

    // Steps 1–4 closed by the stage change, 5–10 by the step boundary, 11–14 by close(); each
    // window's id is its last step.
    assertThat(publisher.records)
        .extracting(
            r -> r.metadata().stage(), r -> r.metadata().windowId(), r -> r.snapshot().count())
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(Stage.PRETRAIN, 4L, 4L),
            org.assertj.core.groups.Tuple.tuple(Stage.SFT, 10L, 6L),
            org.assertj.core.groups.Tuple.tuple(Stage.SFT, 14L, 4L));
  }

  @Test
  void probeModeClosesOneWindowPerProbePass() {
    var publisher = new CapturingPublisher();
    var agent =
        PhasewatchAgent.builder(config("sampling: {mode: probe}\nwindow: {steps: 1000}\n"))
            .sketches(new ReferenceSketches())
            .publisher(r -> publisher)
            .start();
    List<float[]> pass = new ArrayList<>();
    for (long step = 1; step <= 20; step++) {
      // As the training listener does: the step ends, then the probe pass of that step runs.
      agent.stepEnded(step, 100 * step, 1.0);
      if (step % 5 == 0) {
        pass.clear();
        for (int i = 0; i < 6; i++) {
          pass.add(row(step, i, 4));
          agent.rows("final_norm", step, row(step, i, 4), 1, 4);
        }
      }
    }
    agent.close(Duration.ofSeconds(5));

    assertThat(publisher.records)
        .extracting(r -> r.metadata().step())
        .containsExactly(5L, 10L, 15L, 20L);
    assertThat(publisher.records)
        .extracting(r -> r.metadata().tokensSeen())
        .containsExactly(500L, 1000L, 1500L, 2000L);
    assertThat(publisher.records)
        .extracting(r -> r.metadata().windowId())
        .containsExactly(5L, 10L, 15L, 20L);
    assertThat(publisher.records.get(3).snapshot()).isEqualTo(ReferenceSketches.summarize(pass, 4));
  }

  @Test
  void fullQueueDropsAndCountsWithoutMakingTheCallerWait() throws Exception {
    var release = new CountDownLatch(1);
    var blocking =
        new ReferenceSketches() {
          @Override
          public CovarianceSketch exact(int dimension) {
            CovarianceSketch inner = super.exact(dimension);
            return new CovarianceSketch() {
              @Override
              public int dimension() {
                return inner.dimension();
              }

              @Override
              public void update(float[] row) {
                inner.update(row);
              }

              @Override
              public void update(float[] rows, int rowCount) {
                try {
                  release.await(); // a stalled sketch thread
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
                inner.update(rows, rowCount);
              }

              @Override
              public void update(double[] rows, int rowCount) {
                inner.update(rows, rowCount);
              }

              @Override
              public CovarianceSnapshot snapshot() {
                return inner.snapshot();
              }

              @Override
              public void reset() {
                inner.reset();
              }
            };
          }
        };
    var publisher = new CapturingPublisher();
    var registry = new SimpleMeterRegistry();
    var agent =
        PhasewatchAgent.builder(config("queue: {max-rows: 8}\nwindow: {steps: 1000}\n"))
            .sketches(blocking)
            .publisher(r -> publisher)
            .meterRegistry(registry)
            .start();
    // The first batch reaches the (stalled) sketch thread; two more fill the 8-row queue.
    agent.rows("l", 0, new float[4 * 2], 4, 2);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (registry.get("phasewatch.agent.queue.rows").gauge().value() > 0
        && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    long slowest = 0;
    for (int i = 0; i < 100; i++) {
      long t0 = System.nanoTime();
      agent.rows("l", 0, new float[4 * 2], 4, 2);
      slowest = Math.max(slowest, System.nanoTime() - t0);
    }
    double dropped =
        registry
            .get("phasewatch.agent.samples.dropped")
            .tag("reason", "queue_full")
            .counter()
            .count();
    assertThat(dropped).isEqualTo(98 * 4);
    assertThat(registry.get("phasewatch.agent.samples.taken").counter().count()).isEqualTo(3 * 4);
    assertThat(slowest).isLessThan(TimeUnit.MILLISECONDS.toNanos(100));

    release.countDown();
    agent.close(Duration.ofSeconds(5));
    assertThat(publisher.records).hasSize(1);
    assertThat(publisher.records.get(0).snapshot().count()).isEqualTo(12);
    assertThat(publisher.records.get(0).metadata().samplesDropped()).isEqualTo(98 * 4);
  }

  @Test
  void disabledAgentStartsNoThreadAndTakesNothing() {
    long before = sketchThreads();
    var registry = new SimpleMeterRegistry();
    var agent =
        PhasewatchAgent.builder(config("enabled: false\n"))
            .sketches(new ReferenceSketches())
            .publisher(
                r -> {
                  throw new AssertionError("a disabled agent must not make a publisher");
                })
            .meterRegistry(registry)
            .start();
    agent.rows("l", 0, new float[8], 2, 4);
    agent.stepEnded(0, 0, 0);
    agent.close();
    assertThat(agent.hasThread()).isFalse();
    assertThat(agent.isActive()).isFalse();
    assertThat(sketchThreads()).isEqualTo(before);
    assertThat(registry.find("phasewatch.agent.queue.rows").gauge()).isNull();
    assertThat(registry.get("phasewatch.agent.samples.taken").counter().count()).isZero();
  }

  private static long sketchThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().startsWith("phasewatch-sketch") && t.isAlive())
        .count();
  }

  @Test
  void aFailingSketchDisablesItsLayerOnlyAndIsCounted() {
    var publisher = new CapturingPublisher();
    var registry = new SimpleMeterRegistry();
    var failing =
        new ReferenceSketches() {
          @Override
          public CovarianceSketch exact(int dimension) {
            if (dimension == 5) {
              throw new IllegalStateException("boom");
            }
            return super.exact(dimension);
          }
        };
    var agent =
        PhasewatchAgent.builder(config("window: {steps: 2}\n"))
            .sketches(failing)
            .publisher(r -> publisher)
            .meterRegistry(registry)
            .start();
    for (long step = 1; step <= 4; step++) {
      agent.rows("bad", step, new float[10], 2, 5);
      agent.rows("good", step, row(step, 0, 3), 1, 3);
      agent.stepEnded(step, step, 1.0);
    }
    agent.close(Duration.ofSeconds(5));
    assertThat(publisher.records)
        .extracting(r -> r.metadata().layer())
        .containsExactly("good", "good");
    assertThat(registry.get("phasewatch.agent.failures").tag("part", "sketch").counter().count())
        .isEqualTo(1);
  }

  @Test
  void layersBeyondTheBoundAreDroppedAndCounted() {
    var publisher = new CapturingPublisher();
    var registry = new SimpleMeterRegistry();
    var agent =
        PhasewatchAgent.builder(config("queue: {max-layers: 2}\nwindow: {steps: 1}\n"))
            .sketches(new ReferenceSketches())
            .publisher(r -> publisher)
            .meterRegistry(registry)
            .start();
    for (String layer : List.of("a", "b", "c")) {
      agent.rows(layer, 0, row(0, 0, 2), 1, 2);
    }
    agent.rows("a", 0, new float[3], 2, 2); // too short for 2 × 2
    agent.stepEnded(0, 0, 0);
    agent.close(Duration.ofSeconds(5));
    assertThat(publisher.records).extracting(r -> r.metadata().layer()).containsExactly("a", "b");
    assertThat(
            registry
                .get("phasewatch.agent.samples.dropped")
                .tag("reason", "layer_limit")
                .counter()
                .count())
        .isEqualTo(1);
    assertThat(
            registry
                .get("phasewatch.agent.samples.dropped")
                .tag("reason", "bad_input")
                .counter()
                .count())
        .isEqualTo(2);
  }
}
