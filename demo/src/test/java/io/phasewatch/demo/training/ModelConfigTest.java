package io.phasewatch.demo.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class ModelConfigTest {

  @Test
  void demoDefaultsKeepTheStudysWindowAndTheBottleneck() {
    ModelConfig c = ModelConfig.demoDefaults();
    assertThat(c.dModel()).isGreaterThanOrEqualTo(128);
    assertThat(c.vocabSize()).isGreaterThan(c.dModel());
  }

  @Test
  void learningRateWarmsUpLinearlyThenDecaysByCosineToATenth() {
    ModelConfig c =
        new ModelConfig(
            64, 32, 1, 2, 16, 4, 1e-2f, 10, ModelConfig.Schedule.COSINE, 0f, 1L, 110, 0.999f);
    assertThat(c.learningRateAt(1)).isCloseTo(1e-3f, within(1e-7f));
    assertThat(c.learningRateAt(5)).isCloseTo(5e-3f, within(1e-7f));
    assertThat(c.learningRateAt(10)).isCloseTo(1e-2f, within(1e-7f));
    // Halfway through the decay: 0.1 + 0.9 · ½ = 0.55 of the peak.
    assertThat(c.learningRateAt(60)).isCloseTo(5.5e-3f, within(1e-6f));
    assertThat(c.learningRateAt(110)).isCloseTo(1e-3f, within(1e-7f));
    assertThat(c.learningRateAt(500)).isCloseTo(1e-3f, within(1e-7f));
    ModelConfig constant = c.withSchedule(1e-2f, 10, ModelConfig.Schedule.CONSTANT, 110);
    assertThat(constant.learningRateAt(100)).isEqualTo(1e-2f);
  }

  @Test
  void rejectsBadValuesNamingTheField() {
    ModelConfig c = ModelConfig.demoDefaults();
    assertThatThrownBy(() -> c.withDModel(130, 4))
        .hasMessage("model config: dModel 130 is not a multiple of heads 4");
    assertThatThrownBy(() -> c.withVocabSize(1))
        .hasMessage("model config: vocabSize 1 outside [2, 65536]");
    assertThatThrownBy(() -> c.withSchedule(0f, 10, ModelConfig.Schedule.COSINE, 10))
        .hasMessageContaining("learningRate 0.0");
    assertThatThrownBy(() -> ModelConfig.Schedule.parse("linear"))
        .hasMessageContaining("schedule 'linear'");
  }
}
