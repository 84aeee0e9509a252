package io.phasewatch.demo.training;

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
import java.util.function.Consumer;

/**
 * The small model training with probe taps on chosen layers, behind a surface free of DJL types:
 * the demo (outside this package) drives it step by step and never touches the engine itself.
 */
public final class DemoTraining implements AutoCloseable {

  /**
   * @param corpusFile a UTF-8 text file to train on, or {@code null} for the generated Zipf corpus
   * @param layers globs over {@link TinyLanguageModel#tappableBlocks}, probed every {@code
   *     probeEvery}
   * @param probeSequences N, the fixed probe set's size (last token of each sequence)
   * @param probeBudget share of the step time the probe may take before its cadence stretches
   * @param denseProbeUntil probe also every {@code denseProbeEvery} steps up to this step (0: off),
   *     so the short warmup collapse has enough points on the log-step axis
   */
  public record Settings(
      ModelConfig model,
      Path corpusFile,
      List<String> layers,
      int probeEvery,
      int probeSequences,
      double probeBudget,
      int denseProbeUntil,
      int denseProbeEvery) {
    public Settings {
      Objects.requireNonNull(model, "demo training: model");
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

  private final Corpus corpus;
  private final CaptureSink sink;

  private DemoTraining(
      LanguageModelTraining training,
      PhasewatchTrainingListener listener,
      LayerTaps taps,
      Corpus corpus,
      CaptureSink sink) {
    this.training = training;
    this.listener = listener;
    this.taps = taps;
    this.corpus = corpus;
    this.sink = sink;
  }

  /** Builds the model, its taps, probe set and listener, and initialises the trainer. */
  public static DemoTraining start(Settings settings, CaptureSink sink) throws IOException {
    ModelConfig config = settings.model();
    Corpus corpus =
        settings.corpusFile() == null
            ? SyntheticCorpus.skewed(config.vocabSize(), config.seed())
            : TextCorpus.characters(settings.corpusFile(), config.vocabSize());
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
    // The probe set is held out from the training stream by its own seed, as the study's probe is.
    ProbeSet probe =
        ProbeSet.fromCorpus(
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
    return new DemoTraining(
        LanguageModelTraining.start(model, corpus, listener), listener, taps, corpus, sink);
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
    return PostTraining.run(training, corpus, stages, config, sink, progress, listener);
  }

  @Override
  public void close() {
    training.close();
  }
}
