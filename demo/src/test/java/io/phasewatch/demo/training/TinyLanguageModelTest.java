package io.phasewatch.demo.training;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

public class TinyLanguageModelTest {

  public static final ModelConfig SMALL =
      new ModelConfig(
          64, 32, 2, 2, 16, 8, 1e-2f, 5, ModelConfig.Schedule.CONSTANT, 0.0f, 7L, 100, 0.999f);

  @Test
  void lossFallsOnTheSyntheticCorpus() {
    SyntheticCorpus corpus = SyntheticCorpus.skewed(64, 7L);
    try (LanguageModelTraining training =
        LanguageModelTraining.start(TinyLanguageModel.create(SMALL), corpus)) {
      float first = training.step();
      // An untrained model predicts no better than uniform: cross-entropy ≥ ln V (up to noise).
      assertThat((double) first).isGreaterThan(Math.log(64) - 0.3);
      double last = 0;
      training.train(35);
      for (int i = 0; i < 4; i++) {
        last += training.step() / 4.0;
      }
      assertThat(last).isLessThan(first - 0.6);
      assertThat(training.steps()).isEqualTo(40);
      assertThat(training.tokensSeen()).isEqualTo(40L * 8 * 16);
    }
  }

  @Test
  void changingAFutureTokenLeavesEarlierOutputsUnchanged() {
    SyntheticCorpus corpus = SyntheticCorpus.skewed(64, 7L);
    try (LanguageModelTraining training =
        LanguageModelTraining.start(TinyLanguageModel.create(SMALL), corpus)) {
      training.train(5);
      int[] a = corpus.sample(new Random(3), 16);
      int[] b = a.clone();
      int changed = 9;
      b[changed] = (a[changed] + 1) % 64;
      float[] la = training.logits(new int[][] {a});
      float[] lb = training.logits(new int[][] {b});
      int v = 64;
      for (int pos = 0; pos < 16; pos++) {
        double diff = 0;
        for (int k = 0; k < v; k++) {
          diff = Math.max(diff, Math.abs(la[pos * v + k] - lb[pos * v + k]));
        }
        if (pos < changed) {
          assertThat(diff).as("position %d", pos).isLessThan(1e-5);
        } else {
          assertThat(diff).as("position %d", pos).isGreaterThan(1e-4);
        }
      }
    }
  }

  @Test
  void namesTheTappableBlocksInForwardOrder() {
    assertThat(TinyLanguageModel.tappableBlocks(SMALL))
        .containsExactly("layers.0.out", "layers.1.out", "final_norm");
  }
}
