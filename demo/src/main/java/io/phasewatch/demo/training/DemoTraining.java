package io.phasewatch.demo.training;

import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.listener.TrainingListenerAdapter;
import io.phasewatch.agent.capture.CaptureSink;
import io.phasewatch.agent.djl.Corpus;
import io.phasewatch.agent.djl.LayerTaps;
import io.phasewatch.agent.djl.PhasewatchTrainingListener;
import io.phasewatch.agent.djl.ProbeSet;
import io.phasewatch.core.wire.Stage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The small model training with probe taps on chosen layers, behind a surface free of DJL types:
 * the demo (outside this package) drives it step by step and never touches the engine itself.
 */
public final class DemoTraining implements AutoCloseable {

  /** What the model learns. */
  public sealed interface Workload {
    /**
     * Next-token prediction on a corpus.
     *
     * @param corpusFile a UTF-8 text file, or {@code null} for the generated Zipf corpus
     */
    record Language(Path corpusFile) implements Workload {}

    /**
     * {@code a + b mod p} (the grokking task, {@link ModularAddition}): the model's vocabulary must
     * be {@code p + 1} and its context 3.
     */
    record Modular(int modulus, double trainFraction, double skew) implements Workload {}
  }

  /** Training and held-out accuracy of the modular task at one step. */
  public record Accuracy(long step, double train, double heldOut) {}

  /**
   * @param workload the task the model trains on
   * @param layers globs over {@link TinyLanguageModel#tappableBlocks}, probed every {@code
   *     probeEvery}
   * @param probeSequences N, the fixed probe set's size (last token of each sequence)
   * @param probeBudget share of the step time the probe may take before its cadence stretches
   * @param denseProbeUntil probe also every {@code denseProbeEvery} steps up to this step (0: off),
   *     so the short warmup collapse has enough points on the log-step axis
   */
  public record Settings(
      ModelConfig model,
      Workload workload,
      List<String> layers,
      int probeEvery,
      int probeSequences,
      double probeBudget,
      int denseProbeUntil,
      int denseProbeEvery) {
    public Settings {
      Objects.requireNonNull(model, "demo training: model");
      Objects.requireNonNull(workload, "demo training: workload");
      layers = List.copyOf(layers);
      if (layers.isEmpty()) {
        throw new IllegalArgumentException("demo training: at least one layer to tap");
      }
      if (probeEvery < 1
          || probeSequences < 1
          || !(probeBudget > 0)
          || denseProbeUntil < 0
          || denseProbeEvery < 1) {
        throw new IllegalArgumentException(
            "demo training: probe every "
                + probeEvery
                + " steps, "
                + probeSequences
                + " sequences and budget "
                + probeBudget
                + " must be positive");
      }
    }
  }

  private final LanguageModelTraining training;
  private final PhasewatchTrainingListener listener;
  private final LayerTaps taps;

  /** The pretraining corpus (language workload), or null. */
  private final Corpus corpus;

  /** The task (modular workload), or null. */
  private final ModularAddition task;

  private final CaptureSink sink;

  private DemoTraining(
      LanguageModelTraining training,
      PhasewatchTrainingListener listener,
      LayerTaps taps,
      Corpus corpus,
      ModularAddition task,
      CaptureSink sink) {
    this.training = training;
    this.listener = listener;
    this.taps = taps;
    this.corpus = corpus;
    this.task = task;
    this.sink = sink;
  }

  /** Builds the model, its taps, probe set and listener, and initialises the trainer. */
  public static DemoTraining start(Settings settings, CaptureSink sink) throws IOException {
    ModelConfig config = settings.model();
    Corpus corpus = null;
    ModularAddition task = null;
    if (settings.workload() instanceof Workload.Language language) {
      corpus =
          language.corpusFile() == null
              ? SyntheticCorpus.skewed(config.vocabSize(), config.seed())
              : TextCorpus.characters(language.corpusFile(), config.vocabSize());
    } else if (settings.workload() instanceof Workload.Modular modular) {
      task =
          ModularAddition.of(
              modular.modulus(), modular.trainFraction(), modular.skew(), config.seed());
    }
    List<LayerTaps.Tap> tapList = new ArrayList<>();
    for (String glob : settings.layers()) {
      tapList.add(LayerTaps.Tap.probe(glob, settings.probeEvery()));
    }
    LayerTaps taps = LayerTaps.of(sink, config.seed(), tapList);
    // Taps wrap blocks while the model is built, so only then is it known what they matched.
    TinyLanguageModel model = TinyLanguageModel.create(config, taps);
    if (taps.tappedLayers().isEmpty()) {
      throw new IllegalArgumentException(
          "demo training: no block matches "
              + settings.layers()
              + "; tappable blocks are "
              + TinyLanguageModel.tappableBlocks(config));
    }
    // The probe set is held out from the training stream by its own seed, as the study's probe is;
    // the modular probe is a fixed set of pairs read at the answer's position.
    ProbeSet probe =
        task != null
            ? task.probe(
                Math.min(settings.probeSequences(), task.modulus() * task.modulus()),
                config.seed() + 1)
            : ProbeSet.fromCorpus(
                corpus,
                settings.probeSequences(),
                config.contextLength(),
                config.contextLength(),
                config.seed() + 1);
    PhasewatchTrainingListener listener =
        PhasewatchTrainingListener.builder(sink)
            .taps(taps)
            .probe(model, probe)
            .overheadBudget(settings.probeBudget())
            .denseProbesUntil(settings.denseProbeUntil(), settings.denseProbeEvery())
            .learningRate(config::learningRateAt)
            .build();
    LanguageModelTraining training =
        task != null
            ? LanguageModelTraining.start(model, task, listener)
            : LanguageModelTraining.start(model, corpus, listener);
    return new DemoTraining(training, listener, taps, corpus, task, sink);
  }

  /** One optimisation step; returns its training loss. */
  public double step() {
    return training.step();
  }

  public long steps() {
    return training.steps();
  }

  public long tokensSeen() {
    return training.tokensSeen();
  }

  /**
   * Training and held-out accuracy now, over every pair of each side (inference mode); empty for
   * the language workload.
   */
  public Optional<Accuracy> accuracy() {
    if (task == null) {
      return Optional.empty();
    }
    int[][] train = task.trainPairs();
    int[][] heldOut = task.heldOutPairs();
    return Optional.of(
        new Accuracy(
            training.steps(),
            task.accuracy(train, training.logits(task.sequences(train))),
            task.accuracy(heldOut, training.logits(task.sequences(heldOut)))));
  }

  public List<String> tappedLayers() {
    return taps.tappedLayers();
  }

  /** The probe cadence now in force (the listener stretches it past the budget). */
  public long probeEverySteps() {
    return listener.probeEverySteps();
  }

  /** Measured share of the training time spent in probe passes. */
  public double probeOverhead() {
    return listener.probeOverhead();
  }

  /** Measured share of the wall time spent in probe passes, dense early probes included. */
  public double probeTimeShare() {
    return listener.probeTimeShare();
  }

  public long probesRun() {
    return listener.probesRun();
  }

  /** Internal failures of taps and listener (the listener's count includes the taps'). */
  public long failures() {
    return listener.failures();
  }

  /**
   * Runs the post-training {@code stages} (SFT, DPO, RLVR, any subset in that order) on the model
   * as trained so far, with the same taps, probe and sink; the step count carries on and each stage
   * is announced to the sink. See {@link PostTraining#run} and docs/post-training.md.
   */
  public List<PostTraining.StageReport> postTrain(
      List<Stage> stages, PostTrainingConfig config, Consumer<PostTraining.StageReport> progress) {
    return postTrain(stages, config, 0, progress);
  }

  /**
   * As {@link #postTrain(List, PostTrainingConfig, Consumer)}, probing every step from each stage's
   * first step up to its first multiple of {@code stageProbeEvery}, then every {@code
   * stageProbeEvery} steps to its end (0: the pretraining cadence throughout). The detector reads a
   * stage on its own log-step axis, x = ln(1 + step − the stage's first window): a stage probed
   * only every 10 steps starts at x = 0 with its 10th step and jumps to x = 2.4 at its 20th, so
   * whatever the stage does in its first steps (RLVR moved RankMe by 9 % in its first ten) is lost
   * before the axis begins. Probed from its first step, before its first update, the stage's first
   * window is the model it starts from and the early windows spread over x = 0…2.3.
   */
  public List<PostTraining.StageReport> postTrain(
      List<Stage> stages,
      PostTrainingConfig config,
      int stageProbeEvery,
      Consumer<PostTraining.StageReport> progress) {
    if (corpus == null) {
      throw new IllegalArgumentException(
          "demo training: post-training needs the language workload (its stages are text tasks)");
    }
    if (stageProbeEvery < 0) {
      throw new IllegalArgumentException(
          "demo training: stage probe cadence " + stageProbeEvery + " < 0");
    }
    CaptureSink stageSink = sink;
    TrainingListener[] listeners = {listener};
    if (stageProbeEvery > 0) {
      StageCadence cadence = new StageCadence(stageProbeEvery);
      stageSink =
          new CaptureSink() {
            @Override
            public void rows(String layer, long step, float[] rows, int rowCount, int dim) {
              sink.rows(layer, step, rows, rowCount, dim);
            }

            @Override
            public void stepEnded(long step, long tokensSeen, double loss) {
              sink.stepEnded(step, tokensSeen, loss);
            }

            @Override
            public void stageChanged(Stage stage, long firstStep) {
              cadence.stageStarts(firstStep, firstStep - 1 + stageSteps(stage, config));
              sink.stageChanged(stage, firstStep);
            }
          };
      // After the phasewatch listener: it has decided on a step's probe when this one runs.
      listeners = new TrainingListener[] {listener, cadence};
    }
    return PostTraining.run(training, corpus, stages, config, stageSink, progress, listeners);
  }

  /**
   * A stage's probe schedule: every step from its first up to its first multiple of {@code every},
   * then every {@code every} steps to its end (the listener's dense probes, switched as the steps
   * pass).
   */
  private final class StageCadence extends TrainingListenerAdapter {
    private final int every;
    private long lastEveryStep = -1;
    private long stageEnd;

    StageCadence(int every) {
      this.every = every;
    }

    void stageStarts(long firstStep, long lastStep) {
      stageEnd = lastStep;
      long firstRegular = (firstStep + every - 1) / every * every;
      if (firstRegular == firstStep) {
        lastEveryStep = -1;
        listener.denseProbesUntil(stageEnd, every);
      } else {
        lastEveryStep = Math.min(firstRegular - 1, stageEnd);
        listener.denseProbesUntil(lastEveryStep, 1);
      }
    }

    @Override
    public void onTrainingBatch(Trainer trainer, BatchData batchData) {
      if (listener.step() == lastEveryStep) {
        listener.denseProbesUntil(stageEnd, every);
      }
    }
  }

  private static int stageSteps(Stage stage, PostTrainingConfig config) {
    return switch (stage) {
      case SFT -> config.sftSteps();
      case DPO -> config.dpoSteps();
      case RLVR -> config.rlvrSteps();
      default -> 0;
    };
  }

  @Override
  public void close() {
    training.close();
  }
}
