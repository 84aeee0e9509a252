package io.phasewatch.agent.djl;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import io.phasewatch.agent.capture.CaptureSink;
import io.phasewatch.agent.djl.LayerTaps.RowChoice;
import io.phasewatch.agent.djl.LayerTaps.Tap;
import io.phasewatch.core.wire.Stage;
import io.phasewatch.demo.training.LanguageModelTraining;
import io.phasewatch.demo.training.ModelConfig;
import io.phasewatch.demo.training.SyntheticCorpus;
import io.phasewatch.demo.training.TinyLanguageModel;
import io.phasewatch.demo.training.TinyLanguageModelTest;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

class LayerTapsTest {

  static final ModelConfig SMALL = TinyLanguageModelTest.SMALL;
  static final SyntheticCorpus CORPUS = SyntheticCorpus.skewed(64, 7L);

  @Test
  void globsSelectBlocksBySegment() {
    assertThat(Tap.probe("layers.*.out", 1).matches("layers.0.out")).isTrue();
    assertThat(Tap.probe("layers.*.out", 1).matches("layers.12.out")).isTrue();
    assertThat(Tap.probe("layers.*.out", 1).matches("final_norm")).isFalse();
    assertThat(Tap.probe("layers.*", 1).matches("layers.0.out")).isFalse();
    assertThat(Tap.probe("**", 1).matches("layers.0.out")).isTrue();
    assertThat(Tap.probe("final_norm", 1).matches("final_norm")).isTrue();
  }

  @Test
  void liveTapsDeliverRowsOfTheRightShapeAtTheirCadence() {
    RecordingSink sink = new RecordingSink();
    LayerTaps taps =
        LayerTaps.of(
            sink,
            1L,
            List.of(
                Tap.live("layers.*.out", 3, 10, RowChoice.RANDOM_TOKENS),
                Tap.live("final_norm", 2, 100, RowChoice.LAST_TOKEN)));
    TinyLanguageModel model = TinyLanguageModel.create(SMALL, taps);
    assertThat(taps.tappedLayers()).containsExactly("layers.0.out", "layers.1.out", "final_norm");
    PhasewatchTrainingListener listener =
        PhasewatchTrainingListener.builder(sink).taps(taps).build();
    try (LanguageModelTraining training = LanguageModelTraining.start(model, CORPUS, listener)) {
      training.train(9);
    }
    for (String layer : List.of("layers.0.out", "layers.1.out")) {
      assertThat(sink.of(layer)).extracting(RecordingSink.Rows::step).containsExactly(3L, 6L, 9L);
      assertThat(sink.of(layer)).allSatisfy(r -> assertThat(r.rowCount()).isEqualTo(10));
      assertThat(sink.of(layer)).allSatisfy(r -> assertThat(r.dim()).isEqualTo(32));
    }
    // Last token of each sequence: one row per sequence of the batch, even when more were asked.
    assertThat(sink.of("final_norm"))
        .extracting(RecordingSink.Rows::step)
        .containsExactly(2L, 4L, 6L, 8L);
    assertThat(sink.of("final_norm")).allSatisfy(r -> assertThat(r.rowCount()).isEqualTo(8));
    // After LayerNorm (γ near 1, β near 0 this early) a row has mean ≈ 0 and variance ≈ 1.
    float[] row = sink.of("final_norm").get(0).rows();
    double mean = 0;
    double sq = 0;
    for (int k = 0; k < 32; k++) {
      mean += row[k] / 32.0;
      sq += row[k] * row[k] / 32.0;
    }
    assertThat(Math.abs(mean)).isLessThan(0.2);
    assertThat(sq).isBetween(0.6, 1.4);
    assertThat(sink.steps)
        .extracting(RecordingSink.Step::step)
        .containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L);
    assertThat(sink.steps.get(8).tokensSeen()).isEqualTo(9L * 8 * 16);
  }

  @Test
  void probeRowsAreTheLastTokenStatesOfADirectForwardPass() {
    Random rng = new Random(5);
    int[][] seqs = new int[12][];
    for (int i = 0; i < seqs.length; i++) {
      seqs[i] = CORPUS.sample(rng, 5 + rng.nextInt(12));
    }
    ProbeSet probe = ProbeSet.of(seqs, 0);
    List<float[]> expected = new ArrayList<>();
    TinyLanguageModel[] holder = new TinyLanguageModel[1];
    RecordingSink sink =
        new RecordingSink() {
          @Override
          public void rows(String layer, long step, float[] data, int rowCount, int dim) {
            super.rows(layer, step, data, rowCount, dim);
            if (layer.equals("final_norm") && expected.isEmpty()) {
              // The probe ran before this step's optimizer update, as now: compare right here.
              try (NDManager m = NDManager.newBaseManager()) {
                for (int[] s : seqs) {
                  NDArray x = m.create(s, new Shape(1, s.length));
                  NDArray h = holder[0].hiddenState(new ParameterStore(m, false), x, "final_norm");
                  float[] all = h.toFloatArray();
                  float[] last = new float[dim];
                  System.arraycopy(all, (s.length - 1) * dim, last, 0, dim);
                  expected.add(last);
                }
              }
            }
          }
        };
    LayerTaps taps =
        LayerTaps.of(sink, 1L, List.of(Tap.probe("final_norm", 2), Tap.probe("layers.1.out", 3)));
    holder[0] = TinyLanguageModel.create(SMALL, taps);
    PhasewatchTrainingListener listener =
        PhasewatchTrainingListener.builder(sink)
            .taps(taps)
            .probe(holder[0], probe)
            .probeBatch(5)
            // The sink's reference forward passes count as probe time: keep the cadence exact.
            .stretchCadence(false)
            .build();
    try (LanguageModelTraining training =
        LanguageModelTraining.start(holder[0], CORPUS, listener)) {
      training.train(6);
    }
    assertThat(sink.of("final_norm"))
        .extracting(RecordingSink.Rows::step)
        .containsExactly(2L, 4L, 6L);
    assertThat(sink.of("layers.1.out"))
        .extracting(RecordingSink.Rows::step)
        .containsExactly(3L, 6L);
    RecordingSink.Rows first = sink.of("final_norm").get(0);
    assertThat(first.rowCount()).isEqualTo(12);
    assertThat(first.dim()).isEqualTo(32);
    for (int i = 0; i < 12; i++) {
      for (int k = 0; k < 32; k++) {
        assertThat(first.rows()[i * 32 + k])
            .as("sequence %d, component %d", i, k)
            .isCloseTo(expected.get(i)[k], org.assertj.core.api.Assertions.within(1e-4f));
      }
    }
    assertThat(listener.probesRun()).isEqualTo(4);
  }

  @Test
  void aSinkThatThrowsDoesNotBreakTraining() {
    int[] calls = new int[2];
    CaptureSink broken =
        new CaptureSink() {
          @Override
          public void rows(String layer, long step, float[] rows, int rowCount, int dim) {
            calls[0]++;
            throw new IllegalStateException("sink down");
          }

          @Override
          public void stepEnded(long step, long tokensSeen, double loss) {
            calls[1]++;
            throw new NoClassDefFoundError("simulated missing agent class");
          }

          @Override
          public void stageChanged(Stage stage, long step) {}
        };
    LayerTaps taps =
        LayerTaps.of(
            broken,
            1L,
            List.of(
                Tap.live("layers.0.out", 1, 4, RowChoice.RANDOM_TOKENS),
                Tap.probe("final_norm", 2)));
    TinyLanguageModel model = TinyLanguageModel.create(SMALL, taps);
    PhasewatchTrainingListener listener =
        PhasewatchTrainingListener.builder(broken)
            .taps(taps)
            .probe(model, ProbeSet.fromCorpus(CORPUS, 6, 8, 16, 3L))
            .build();
    float loss;
    try (LanguageModelTraining training = LanguageModelTraining.start(model, CORPUS, listener)) {
      loss = training.train(8);
      assertThat(training.steps()).isEqualTo(8);
    }
    assertThat(loss).isFinite();
    // Each failing part failed once and was switched off: stepEnded and the two taps.
    assertThat(calls[1]).isEqualTo(1);
    assertThat(calls[0]).isEqualTo(2);
    assertThat(listener.failures()).isEqualTo(3);
    assertThat(listener.step()).isEqualTo(8);
  }

  @Test
  void aProbeOverItsBudgetStretchesItsCadenceAndSaysSoOnce() {
    List<LogRecord> logged = new ArrayList<>();
    Handler capture =
        new Handler() {
          @Override
          public void publish(LogRecord r) {
            if (r.getLevel().intValue() >= Level.INFO.intValue()) {
              logged.add(r);
            }
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    Logger log = Logger.getLogger(PhasewatchTrainingListener.class.getName());
    log.addHandler(capture);
    try {
      RecordingSink sink = new RecordingSink();
      LayerTaps taps = LayerTaps.of(sink, 1L, List.of(Tap.probe("final_norm", 1)));
      TinyLanguageModel model = TinyLanguageModel.create(SMALL, taps);
      // 512 probe sequences each step cost far more than 1 % of a step of 8 sequences.
      PhasewatchTrainingListener listener =
          PhasewatchTrainingListener.builder(sink)
              .taps(taps)
              .probe(model, ProbeSet.fromCorpus(CORPUS, 512, 16, 16, 3L))
              .overheadBudget(0.01)
              .build();
      try (LanguageModelTraining training = LanguageModelTraining.start(model, CORPUS, listener)) {
        training.train(12);
      }
      assertThat(listener.probeEverySteps()).isGreaterThan(1);
      // Steps 1–4 probe every step (the step time is not known before), then the cadence stretches.
      assertThat(sink.of("final_norm").size()).isLessThan(12);
      assertThat(logged).hasSize(1);
      assertThat(logged.get(0).getMessage()).contains("over the 1.0 % budget");
    } finally {
      log.removeHandler(capture);
    }
  }

  @Test
  void probeSetShardsEveryWthSequenceToRankR() {
    int[][] seqs = new int[7][];
    for (int i = 0; i < 7; i++) {
      seqs[i] = new int[] {i + 1, i + 2};
    }
    ProbeSet shard = ProbeSet.of(seqs, 0).shard(1, 3);
    assertThat(shard.size()).isEqualTo(2);
    assertThat(shard.sequence(0)).containsExactly(2, 3);
    assertThat(shard.sequence(1)).containsExactly(5, 6);
    ProbeSet padded = ProbeSet.of(new int[][] {{4}, {1, 2, 3}}, 9);
    assertThat(padded.sequence(0)).containsExactly(4, 9, 9);
    assertThat(padded.lastIndex(0)).isZero();
    assertThat(padded.lastIndex(1)).isEqualTo(2);
  }
}
