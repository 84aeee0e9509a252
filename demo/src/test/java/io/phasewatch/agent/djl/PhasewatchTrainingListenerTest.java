package io.phasewatch.agent.djl;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.listener.TrainingListener.BatchData;
import ai.djl.training.loss.Loss;
import ai.djl.translate.Batchifier;
import io.phasewatch.demo.training.LanguageModelTraining;
import io.phasewatch.demo.training.ModelConfig;
import io.phasewatch.demo.training.SyntheticCorpus;
import io.phasewatch.demo.training.TinyLanguageModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The loss the listener hands to the sink, on a real DJL trainer. */
class PhasewatchTrainingListenerTest {

  /** Mean squared error that counts how often it is evaluated. */
  private static final class CountingLoss extends Loss {
    int evaluations;

    CountingLoss() {
      super("counting");
    }

    @Override
    public NDArray evaluate(NDList labels, NDList predictions) {
      evaluations++;
      return predictions.head().sub(labels.head()).square().mean();
    }
  }

  @Test
  void theLossIsTheOneTheLoopHandedOverOrNaNAndNeverEvaluatedAgain() {
    var sink = new RecordingSink();
    var loss = new CountingLoss();
    var listener = PhasewatchTrainingListener.builder(sink).build();
    try (Model model = Model.newInstance("listener", "PyTorch")) {
      model.setBlock(Linear.builder().setUnits(2).build());
      try (Trainer trainer = model.newTrainer(new DefaultTrainingConfig(loss))) {
        trainer.initialize(new Shape(4, 3));
        NDManager m = trainer.getManager();
        Device device = trainer.getDevices()[0];
        NDList x = new NDList(m.ones(new Shape(4, 3)));
        NDList y = new NDList(m.zeros(new Shape(4, 2)));
        NDList p = trainer.forward(x);
        try (Batch batch = new Batch(m, x, y, 4, Batchifier.STACK, Batchifier.STACK, 0, 1)) {
          listener.onTrainingBatch(
              trainer,
              new PhasewatchTrainingListener.BatchDataWithLoss(
                  batch, Map.of(device, y), Map.of(device, p), 0.25));
          assertThat(listener.lastLoss()).isEqualTo(0.25);
          // What DJL's EasyTrain sends: no loss with it.
          listener.onTrainingBatch(
              trainer, new BatchData(batch, Map.of(device, y), Map.of(device, p)));
        }
      }
    }
    assertThat(sink.steps)
        .extracting(RecordingSink.Step::step, RecordingSink.Step::tokensSeen)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(1L, 8L), // labels 4 × 2
            org.assertj.core.groups.Tuple.tuple(2L, 16L));
    assertThat(sink.steps.get(0).loss()).isEqualTo(0.25);
    assertThat(sink.steps.get(1).loss()).isNaN();
    assertThat(listener.lastLoss()).isNaN();
    assertThat(loss.evaluations).isZero();
    assertThat(listener.failures()).isZero();
  }

  @Test
  void theSmallModelsLoopHandsEachStepsOwnLossToTheSink() {
    var sink = new RecordingSink();
    var listener = PhasewatchTrainingListener.builder(sink).build();
    ModelConfig config =
        ModelConfig.demoDefaults()
            .withVocabSize(64)
            .withDModel(16, 2)
            .withLayers(1)
            .withShape(8, 2)
            .withSeed(3);
    List<Double> returned = new ArrayList<>();
    try (var training =
        LanguageModelTraining.start(
            TinyLanguageModel.create(config), SyntheticCorpus.skewed(64, 3), listener)) {
      for (int i = 0; i < 4; i++) {
        returned.add((double) training.step());
      }
    }
    // Cross-entropy over 64 tokens starts near ln 64 and is positive; the sink sees each step's.
    assertThat(returned).allSatisfy(l -> assertThat(l).isPositive().isLessThan(10));
    assertThat(sink.steps).extracting(RecordingSink.Step::loss).containsExactlyElementsOf(returned);
    assertThat(sink.steps)
        .extracting(RecordingSink.Step::tokensSeen)
        .containsExactly(16L, 32L, 48L, 64L);
  }
}
