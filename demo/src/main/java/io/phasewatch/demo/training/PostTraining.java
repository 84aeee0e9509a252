package io.phasewatch.demo.training;

import ai.djl.training.listener.TrainingListener;
import io.phasewatch.agent.capture.CaptureSink;
import io.phasewatch.agent.djl.Corpus;
import io.phasewatch.agent.djl.PhasewatchTrainingListener;
import io.phasewatch.core.wire.Stage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Runs post-training stages — SFT, DPO, RLVR, any subset in that order — on a pretrained {@link
 * TinyLanguageModel}, each a real implementation of its method (see docs/post-training.md). At the
 * start of each stage {@link CaptureSink#stageChanged} is called with the stage's first step; the
 * step count continues from pretraining, and the listeners (the {@link PhasewatchTrainingListener}
 * with its taps and probe) are attached to every stage's trainer, so snapshots keep coming and
 * carry the stage.
 */
public final class PostTraining {

  private PostTraining() {}

  /** What one stage did: its steps, time, losses and the behavioural measures around it. */
  public record StageReport(
      Stage stage,
      long firstStep,
      long lastStep,
      double seconds,
      double firstLoss,
      double lastLoss,
      double lastStageMetric,
      Map<String, Double> before,
      Map<String, Double> after) {
    public StageReport {
      Objects.requireNonNull(stage, "stage report: stage");
      before = Map.copyOf(before);
      after = Map.copyOf(after);
    }
  }

  /**
   * Runs {@code stages} on the model of {@code pretrained}, which must still be open (it owns the
   * parameters), then returns one report per stage. {@code corpus} is the pretraining corpus: the
   * task's spans come from it and the held-out loss is measured on it. {@code progress} receives
   * each report as its stage ends (may be null).
   *
   * @throws IllegalArgumentException for a stage other than SFT, DPO or RLVR, a stage listed twice
   *     or out of order, or a task longer than the model's context
   */
  public static List<StageReport> run(
      LanguageModelTraining pretrained,
      Corpus corpus,
      List<Stage> stages,
      PostTrainingConfig config,
      CaptureSink sink,
      Consumer<StageReport> progress,
      TrainingListener... listeners) {
    Objects.requireNonNull(pretrained, "post-training: pretrained");
    Objects.requireNonNull(corpus, "post-training: corpus");
    Objects.requireNonNull(config, "post-training: config");
    Objects.requireNonNull(sink, "post-training: sink");
    checkOrder(stages);
    TinyLanguageModel model = pretrained.model();
    ModelConfig mc = model.config();
    if (config.longestSequence() > mc.contextLength() + 1) {
      throw new IllegalArgumentException(
          "post-training: spans up to "
              + Math.max(config.maxSpan(), config.rlvrSpan())
              + " need sequences of "
              + config.longestSequence()
              + " tokens, over contextLength "
              + mc.contextLength()
              + " + 1");
    }
    ReversalTask task = new ReversalTask(corpus, mc.vocabSize());
    Evaluation evaluation = new Evaluation(task, corpus, config, mc.contextLength());
    List<StageReport> reports = new ArrayList<>();
    long step = pretrained.steps();
    Map<String, Double> before = evaluation.measure(model);
    for (Stage stage : stages) {
      long first = step + 1;
      sink.stageChanged(stage, first);
      long t0 = System.nanoTime();
      double[] losses = {Double.NaN, Double.NaN, Double.NaN};
      int n;
      switch (stage) {
        case SFT -> {
          n = config.sftSteps();
          try (SftStage s = new SftStage(model, task, config, listeners)) {
            for (int i = 0; i < n; i++) {
              record(losses, i, s.step());
            }
          }
        }
        case DPO -> {
          n = config.dpoSteps();
          try (DpoStage s = new DpoStage(model, task, config, listeners)) {
            for (int i = 0; i < n; i++) {
              record(losses, i, s.step());
              losses[2] = s.lastMargin();
            }
          }
        }
        case RLVR -> {
          n = config.rlvrSteps();
          try (RlvrStage s = new RlvrStage(model, task, config, listeners)) {
            for (int i = 0; i < n; i++) {
              record(losses, i, s.step());
              losses[2] = s.lastReward();
            }
          }
        }
        default -> throw new IllegalStateException("unreachable: " + stage);
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      step += n;
      Map<String, Double> after = evaluation.measure(model);
      StageReport report =
          new StageReport(
              stage, first, step, seconds, losses[0], losses[1], losses[2], before, after);
      reports.add(report);
      if (progress != null) {
        progress.accept(report);
      }
      before = after;
    }
    return List.copyOf(reports);
  }

  private static void record(double[] losses, int i, float loss) {
    if (i == 0) {
      losses[0] = loss;
    }
    losses[1] = loss;
  }

  /** Parses {@code sft,dpo,rlvr} (any subset, in that order) as the demo's flag gives it. */
  public static List<Stage> parseStages(String text) {
    Objects.requireNonNull(text, "post-training: stages");
    List<Stage> out = new ArrayList<>();
    for (String part : text.split(",")) {
      String label = part.trim();
      if (label.isEmpty()) {
        continue;
      }
      out.add(Stage.fromLabel(label));
    }
    checkOrder(out);
    return List.copyOf(out);
  }

  private static void checkOrder(List<Stage> stages) {
    Objects.requireNonNull(stages, "post-training: stages");
    int last = -1;
    for (Stage s : stages) {
      int rank =
          switch (Objects.requireNonNull(s, "post-training: null stage")) {
            case SFT -> 0;
            case DPO -> 1;
            case RLVR -> 2;
            default ->
                throw new IllegalArgumentException(
                    "post-training: stage '" + s.label() + "' is not one of sft, dpo, rlvr");
          };
      if (rank <= last) {
        throw new IllegalArgumentException(
            "post-training: stages "
                + stages
                + " must be distinct and in the order sft, dpo, rlvr");
      }
      last = rank;
    }
  }
}
