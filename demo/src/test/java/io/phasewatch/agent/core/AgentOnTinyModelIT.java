package io.phasewatch.agent.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.phasewatch.agent.capture.CaptureSink;
import io.phasewatch.agent.config.AgentConfig;
import io.phasewatch.agent.config.AgentConfigLoader;
import io.phasewatch.agent.djl.LayerTaps;
import io.phasewatch.agent.djl.LayerTaps.RowChoice;
import io.phasewatch.agent.djl.LayerTaps.Tap;
import io.phasewatch.agent.djl.PhasewatchTrainingListener;
import io.phasewatch.agent.djl.ProbeSet;
import io.phasewatch.core.sketch.CovarianceSketch;
import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.Stage;
import io.phasewatch.demo.training.LanguageModelTraining;
import io.phasewatch.demo.training.ModelConfig;
import io.phasewatch.demo.training.SyntheticCorpus;
import io.phasewatch.demo.training.TinyLanguageModel;
import io.phasewatch.testkit.KafkaBroker;
import io.phasewatch.testkit.SnapshotReader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The small language model really training on DJL's PyTorch engine with the agent attached, its
 * snapshots read back from a real KRaft broker and decoded: live and probe mode, and a broker that
 * goes away in the middle of the run.
 */
class AgentOnTinyModelIT {
  private static final int D = 32;
  @RegisterExtension static final KafkaBroker KAFKA = KafkaBroker.perClass();

  private static ModelConfig model() {
    return ModelConfig.demoDefaults()
        .withVocabSize(128)
        .withDModel(D, 4)
        .withLayers(2)
        .withShape(16, 4)
        .withSeed(7);
  }

  private static AgentConfig agentConfig(String topic, String yaml) throws Exception {
    KAFKA.createTopic(topic);
    return AgentConfigLoader.load(
        "run: tiny\npublish: {topic: "
            + topic
            + ", retry-backoff: 100ms, retry-backoff-max: 1s}\n"
            + yaml,
        Map.of(),
        Map.of(
            "kafka.bootstrap.servers", KAFKA.bootstrapServers(),
            "kafka.delivery.timeout.ms", "3000",
            "kafka.request.timeout.ms", "1000",
            "kafka.reconnect.backoff.max.ms", "200"));
  }

  /** Hands every call to the agent and keeps a copy of the rows, to sketch them directly. */
  private static final class Tee implements CaptureSink {
    final CaptureSink agent;
    final List<Object[]> batches = new ArrayList<>(); // {layer, step, float[] rows, rowCount}
    final List<Throwable> thrown = new ArrayList<>();

    Tee(CaptureSink agent) {
      this.agent = agent;
    }

    @Override
    public void rows(String layer, long step, float[] rows, int rowCount, int dim) {
      assertThat(dim).isEqualTo(D);
      batches.add(
          new Object[] {layer, step, java.util.Arrays.copyOf(rows, rowCount * dim), rowCount});
      try {
        agent.rows(layer, step, rows, rowCount, dim);
      } catch (Throwable t) {
        thrown.add(t);
      }
    }

    @Override
    public void stepEnded(long step, long tokensSeen, double loss) {
      try {
        agent.stepEnded(step, tokensSeen, loss);
      } catch (Throwable t) {
        thrown.add(t);
      }
    }

    @Override
    public void stageChanged(Stage stage, long step) {
      agent.stageChanged(stage, step);
    }

    /** Exact summaries of the rows per (layer, window step), fed in the same batches. */
    Map<String, CovarianceSketch> direct(java.util.function.LongUnaryOperator windowStepOf) {
      Map<String, CovarianceSketch> out = new LinkedHashMap<>();
      for (Object[] b : batches) {
        String key = b[0] + "@" + windowStepOf.applyAsLong((Long) b[1]);
        out.computeIfAbsent(key, k -> ExactSummary.ofDimension(D))
            .update((float[]) b[2], (Integer) b[3]);
      }
      return out;
    }
  }

  private static List<SnapshotRecord> consume(String topic, int n) {
    return KAFKA.read(topic, SnapshotReader.distinctWindows(n), Duration.ofSeconds(60));
  }

  private static double count(MeterRegistry r, String name) {
    var c = r.find(name).counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void liveModeSurvivesABrokerOutageAndDeliversEveryWindowAfterwards() throws Exception {
    int k = 5;
    AgentConfig config =
        agentConfig(
            "tiny-live",
            "sampling: {mode: live, every-steps: 1, rows-per-step: 8}\nwindow: {steps: "
                + k
                + "}\n");
    var registry = new SimpleMeterRegistry();
    PhasewatchAgent agent = PhasewatchAgent.start(config, registry);
    var tee = new Tee(agent);
    LayerTaps taps =
        LayerTaps.of(
            tee,
            11,
            List.of(
                Tap.live("layers.*.out", 1, 8, RowChoice.RANDOM_TOKENS),
                Tap.live("final_norm", 1, 8, RowChoice.LAST_TOKEN)));
    TinyLanguageModel model = TinyLanguageModel.create(model(), taps);
    var listener = PhasewatchTrainingListener.builder(tee).taps(taps).build();
    float firstLoss;
    float lastLoss;
    try (var training =
        LanguageModelTraining.start(model, SyntheticCorpus.skewed(128, 3), listener)) {
      firstLoss = training.train(1);
      training.train(13); // steps 1–14: windows closing at 5 and 10 are out
      KAFKA.stopServing();
      training.train(10); // steps 15–24 with the broker away: windows 15 and 20 wait
      // The producer gives up on a send after its delivery timeout (3 s here): wait for that.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (count(registry, "phasewatch.agent.publish.failures") == 0
          && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      assertThat(count(registry, "phasewatch.agent.publish.failures")).isPositive();
      assertThat(registry.get("phasewatch.agent.publish.pending").gauge().value()).isPositive();
      KAFKA.restore();
      lastLoss = training.train(6); // steps 25–30: windows 25 and 30
    }
    agent.close(Duration.ofSeconds(30));

    assertThat(tee.thrown).isEmpty();
    assertThat(lastLoss).isLessThan(firstLoss); // it really trained
    // Window of a row taken at step s (steps count from 1): the first multiple of k at or after s,
    // which is also the window's id; step 30 ends a window, so close() has nothing left to flush.
    Map<String, CovarianceSketch> direct = tee.direct(s -> ((s + k - 1) / k) * k);
    List<SnapshotRecord> got = consume("tiny-live", direct.size());
    // 3 layers × windows ending 5, 10, …, 30, each once apart from re-sent duplicates
    assertThat(got.stream().map(r -> r.metadata().layer() + "@" + r.metadata().step()).distinct())
        .hasSize(direct.size());
    assertThat(direct).hasSize(3 * 6);
    for (SnapshotRecord r : got) {
      String key = r.metadata().layer() + "@" + r.metadata().step();
      assertThat(direct).containsKey(key);
      assertThat(r.snapshot()).as(key).isEqualTo(direct.get(key).snapshot());
      assertThat(r.metadata().samplesDropped()).isZero();
      assertThat(r.metadata().windowId()).isEqualTo(r.metadata().step());
      // Every window holds K sampled steps: 8 random rows, or the last token of 4 sequences.
      long perStep = r.metadata().layer().equals("final_norm") ? 4 : 8;
      assertThat(r.snapshot().count()).as(key).isEqualTo(k * perStep);
    }
    for (String layer : List.of("layers.0.out", "layers.1.out", "final_norm")) {
      assertThat(got.stream().filter(r -> r.metadata().layer().equals(layer)))
          .extracting(r -> r.metadata().windowId())
          .isSorted();
    }
    assertThat(count(registry, "phasewatch.agent.windows.published")).isEqualTo(direct.size());
  }

  @Test
  void probeModeSnapshotsEqualTheSketchOfTheProbeRows() throws Exception {
    AgentConfig config = agentConfig("tiny-probe", "sampling: {mode: probe}\n");
    var registry = new SimpleMeterRegistry();
    PhasewatchAgent agent = PhasewatchAgent.start(config, registry);
    var tee = new Tee(agent);
    var corpus = SyntheticCorpus.skewed(128, 5);
    LayerTaps taps =
        LayerTaps.of(tee, 13, List.of(Tap.probe("layers.*.out", 4), Tap.probe("final_norm", 4)));
    TinyLanguageModel model = TinyLanguageModel.create(model(), taps);
    ProbeSet probe = ProbeSet.fromCorpus(corpus, 24, 4, 16, 99);
    // This test checks the rows, not the cadence stretching: the probe runs at its cadence whatever
    // it costs (on a loaded 2-core machine a probe of this tiny model took more than 90 % of a
    // step,
    // and a budget stretched the cadence past the steps asserted below).
    var listener =
        PhasewatchTrainingListener.builder(tee)
            .taps(taps)
            .probe(model, probe)
            .stretchCadence(false)
            .build();
    try (var training = LanguageModelTraining.start(model, corpus, listener)) {
      training.train(16); // probes after steps 4, 8, 12, 16
    }
    agent.close(Duration.ofSeconds(30));

    assertThat(tee.thrown).isEmpty();
    Map<String, CovarianceSketch> direct = tee.direct(s -> s);
    assertThat(direct).hasSize(3 * 4);
    List<SnapshotRecord> got = consume("tiny-probe", direct.size());
    assertThat(got.stream().map(r -> r.metadata().layer() + "@" + r.metadata().step()).distinct())
        .hasSize(direct.size());
    for (SnapshotRecord r : got) {
      String key = r.metadata().layer() + "@" + r.metadata().step();
      assertThat(r.snapshot().count()).isEqualTo(24); // one row per probe sequence
      assertThat(r.snapshot()).as(key).isEqualTo(direct.get(key).snapshot());
    }
    assertThat(got.stream().filter(r -> r.metadata().layer().equals("final_norm")))
        .extracting(r -> r.metadata().step())
        .containsExactly(4L, 8L, 12L, 16L);
    assertThat(got.stream().filter(r -> r.metadata().layer().equals("final_norm")))
        .extracting(r -> r.metadata().windowId())
        .containsExactly(4L, 8L, 12L, 16L);
  }
}
