package io.phasewatch.agent.djl.attach;

import io.phasewatch.demo.training.LanguageModelTraining;
import io.phasewatch.demo.training.ModelConfig;
import io.phasewatch.demo.training.SyntheticCorpus;
import io.phasewatch.demo.training.TinyLanguageModel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A training program for phasewatch's small model that uses none of the agent: {@link
 * TinyLanguageModel} built without taps, trained by {@link LanguageModelTraining} on the skewed
 * synthetic corpus. Runs {@code maxSteps} steps or until the file {@code stop} exists, pausing 3 ms
 * after each; prints {@code ready} after the first step and {@code done <steps> <loss>} at the end.
 * {@link SmallModelAttachIT} runs it in a JVM of its own.
 */
public final class SmallModelTrainer {

  /** d_model 32, two decoder layers, two heads, 16 tokens of context, batches of 8. */
  static final ModelConfig CONFIG =
      new ModelConfig(
          64,
          32,
          2,
          2,
          16,
          8,
          1e-2f,
          5,
          ModelConfig.Schedule.CONSTANT,
          0.0f,
          7L,
          1_000_000,
          0.999f);

  private SmallModelTrainer() {}

  public static void main(String[] args) throws Exception {
    long maxSteps = Long.parseLong(args[0]);
    Path stop = Path.of(args[1]);
    try (LanguageModelTraining training =
        LanguageModelTraining.start(
            TinyLanguageModel.create(CONFIG), SyntheticCorpus.skewed(CONFIG.vocabSize(), 7L))) {
      float loss = Float.NaN;
      while (training.steps() < maxSteps && !Files.exists(stop)) {
        loss = training.step();
        if (training.steps() == 1) {
          System.out.println("ready");
          System.out.flush();
        }
        Thread.sleep(3);
      }
      System.out.println("done " + training.steps() + " " + loss);
    }
  }
}
