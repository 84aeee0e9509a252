package io.phasewatch.agent.djl.attach;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Model;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import io.phasewatch.agent.capture.CaptureSink;
import io.phasewatch.core.wire.Stage;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Naming and the failure path on a real DJL trainer; the advice itself is exercised by the IT. */
class TrainerTapsTest {

  @Test
  void blocksAreNamedByPathWithoutDjlsOrdinal() {
    assertThat(BlockNames.of(new PlainTrainer.Net()).keySet())
        .containsExactly("embed", "hidden", "head");
  }

  @Test
  void siblingsThatWouldClashKeepTheOrdinal() {
    var seq =
        new SequentialBlock()
            .add(Linear.builder().setUnits(4).build())
            .add(Activation.reluBlock())
            .add(Linear.builder().setUnits(2).build());
    assertThat(BlockNames.of(seq).keySet())
        .containsExactly("01Linear", "02LambdaBlock", "03Linear");
  }

  @Test
  void aFailingSinkDisablesTheTapsOnceAndTheHostCallReturnsNormally() {
    var failures = new ArrayList<String>();
    var calls = new int[1];
    CaptureSink broken =
        new CaptureSink() {
          @Override
          public void rows(String layer, long step, float[] rows, int rowCount, int dim) {}

          @Override
          public void stepEnded(long step, long tokensSeen, double loss) {
            calls[0]++;
            throw new IllegalStateException("sink broke");
          }

          @Override
          public void stageChanged(Stage stage, long step) {}
        };
    var taps =
        new TrainerTaps(broken, List.of("hidden"), 1, 4, 1L, (part, t) -> failures.add(part));
    try (Model model = Model.newInstance("t", "PyTorch")) {
      model.setBlock(new PlainTrainer.Net());
      try (Trainer trainer = model.newTrainer(new DefaultTrainingConfig(Loss.l2Loss()))) {
        trainer.initialize(new Shape(2, 3, 12));
        Dispatch.install(taps);
        NDList x = new NDList(trainer.getManager().ones(new Shape(2, 3, 12)));
        Dispatch.trainerForward(trainer, x);
        assertThat(taps.tapped()).containsExactly("hidden");
        Dispatch.stepExit(trainer);
        Dispatch.stepExit(trainer);
        assertThat(failures).containsExactly("trainer");
        assertThat(calls[0]).isEqualTo(1);
        assertThat(taps.armed).isFalse();
        assertThat(Dispatch.installed()).isFalse();
      }
    } finally {
      Dispatch.clear(taps);
    }
  }
}
