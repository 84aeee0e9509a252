package io.phasewatch.demo.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.phasewatch.agent.djl.RecordingSink;
import java.util.List;
import org.junit.jupiter.api.Test;

class DemoTrainingTest {

  @Test
  void probesTheChosenLayersAtTheirCadence() throws Exception {
    RecordingSink sink = new RecordingSink();
    DemoTraining.Settings settings =
        new DemoTraining.Settings(
            TinyLanguageModelTest.SMALL, null, List.of("layers.*.out"), 3, 8, 1.0, 0, 1);
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
  void rejectsGlobsThatMatchNoBlockNamingTheTappableOnes() {
    DemoTraining.Settings settings =
        new DemoTraining.Settings(
            TinyLanguageModelTest.SMALL, null, List.of("decoder.*"), 3, 20, 1.0, 0, 1);
    assertThatThrownBy(() -> DemoTraining.start(settings, new RecordingSink()))
        .hasMessageContaining("no block matches [decoder.*]")
        .hasMessageContaining("final_norm");
  }
}
