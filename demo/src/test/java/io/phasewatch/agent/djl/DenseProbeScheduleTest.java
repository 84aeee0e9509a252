package io.phasewatch.agent.djl;

import static org.assertj.core.api.Assertions.assertThat;

import io.phasewatch.agent.djl.LayerTaps.Tap;
import io.phasewatch.demo.training.LanguageModelTraining;
import io.phasewatch.demo.training.TinyLanguageModel;
import java.util.List;
import org.junit.jupiter.api.Test;

class DenseProbeScheduleTest {

  @Test
  void denseProbesAddEarlyStepsOnTopOfTheTapsOwnCadence() {
    RecordingSink sink = new RecordingSink();
    LayerTaps taps = LayerTaps.of(sink, 1L, List.of(Tap.probe("final_norm", 25)));
    TinyLanguageModel model = TinyLanguageModel.create(LayerTapsTest.SMALL, taps);
    ProbeSet probe = ProbeSet.fromCorpus(LayerTapsTest.CORPUS, 6, 8, 8, 3L);
    PhasewatchTrainingListener listener =
        PhasewatchTrainingListener.builder(sink)
            .taps(taps)
            .probe(model, probe)
            .overheadBudget(1.0)
            .denseProbesUntil(12, 4)
            .build();
    try (LanguageModelTraining training =
        LanguageModelTraining.start(model, LayerTapsTest.CORPUS, listener)) {
      training.train(52);
    }
    assertThat(sink.of("final_norm"))
        .extracting(RecordingSink.Rows::step)
        .containsExactly(4L, 8L, 12L, 25L, 50L);
    assertThat(sink.of("final_norm")).allSatisfy(r -> assertThat(r.rowCount()).isEqualTo(6));
    assertThat(listener.probeTimeShare()).isBetween(0.0, 1.0);
  }
}
