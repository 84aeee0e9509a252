package io.phasewatch.demo.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.phasewatch.agent.djl.RecordingSink;
import java.util.List;
import org.junit.jupiter.api.Test;

class DemoTrainingTest {

  private static final DemoTraining.Workload LANGUAGE = new DemoTraining.Workload.Language(null);

  @Test
  void probesTheChosenLayersAtTheirCadence() throws Exception {
    RecordingSink sink = new RecordingSink();
    DemoTraining.Settings settings =
        new DemoTraining.Settings(
            TinyLanguageModelTest.SMALL, LANGUAGE, List.of("layers.*.out"), 3, 8, 1.0, 0, 1);
    try (DemoTraining demo = DemoTraining.start(settings, sink)) {
      assertThat(demo.tappedLayers()).containsExactly("layers.0.out", "layers.1.out");
      for (int i = 0; i < 6; i++) {
        demo.step();
      }
      assertThat(demo.steps()).isEqualTo(6);
      assertThat(demo.probesRun()).isEqualTo(2);
      assertThat(demo.failures()).isZero();
    }
    assertThat(sink.of("layers.1.out"))
        .extracting(RecordingSink.Rows::step)
        .containsExactly(3L, 6L);
    assertThat(sink.of("layers.1.out")).allSatisfy(r -> assertThat(r.rowCount()).isEqualTo(8));
    assertThat(sink.of("final_norm")).isEmpty();
  }

  @Test
  void modularWorkloadProbesTheFixedPairsAndLearnsTheTrainingShare() throws Exception {
    RecordingSink sink = new RecordingSink();
    ModelConfig config =
        new ModelConfig(
            8, 32, 1, 2, 3, 64, 1e-2f, 5, ModelConfig.Schedule.CONSTANT, 0f, 5L, 200, 0.999f);
    DemoTraining.Settings settings =
        new DemoTraining.Settings(
            config,
            new DemoTraining.Workload.Modular(7, 0.5, 0),
            List.of("final_norm"),
            50,
            1024,
            1.0,
            0,
            1);
    try (DemoTraining demo = DemoTraining.start(settings, sink)) {
      DemoTraining.Accuracy before = demo.accuracy().orElseThrow();
      for (int i = 0; i < 200; i++) {
        demo.step();
      }
      DemoTraining.Accuracy after = demo.accuracy().orElseThrow();
      assertThat(after.step()).isEqualTo(200);
      // 25 training pairs of 7 answers: chance is 1/7; 200 steps of batch 64 learn most of them
      // (16 of 25 with this seed), held-out pairs far fewer.
      assertThat(before.train()).isLessThan(0.3);
      assertThat(after.train()).isGreaterThan(0.5).isGreaterThan(after.heldOut());
      assertThatThrownBy(
              () -> demo.postTrain(List.of(io.phasewatch.core.wire.Stage.SFT), null, r -> {}))
          .hasMessageContaining("post-training needs the language workload");
    }
    // The probe holds every one of the 49 pairs once (1024 asked, p² = 49 exist).
    assertThat(sink.of("final_norm"))
        .extracting(RecordingSink.Rows::step)
        .containsExactly(50L, 100L, 150L, 200L);
    assertThat(sink.of("final_norm")).allSatisfy(r -> assertThat(r.rowCount()).isEqualTo(49));
  }

  @Test
  void languageWorkloadHasNoAccuracy() throws Exception {
    DemoTraining.Settings settings =
        new DemoTraining.Settings(
            TinyLanguageModelTest.SMALL, LANGUAGE, List.of("final_norm"), 3, 8, 1.0, 0, 1);
    try (DemoTraining demo = DemoTraining.start(settings, new RecordingSink())) {
      assertThat(demo.accuracy()).isEmpty();
    }
  }

  @Test
  void rejectsGlobsThatMatchNoBlockNamingTheTappableOnes() {
    DemoTraining.Settings settings =
        new DemoTraining.Settings(
            TinyLanguageModelTest.SMALL, LANGUAGE, List.of("decoder.*"), 3, 20, 1.0, 0, 1);
    assertThatThrownBy(() -> DemoTraining.start(settings, new RecordingSink()))
        .hasMessageContaining("no block matches [decoder.*]")
        .hasMessageContaining("final_norm");
  }
}
