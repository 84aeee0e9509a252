package io.phasewatch.demo.training;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.translate.Batchifier;
import io.phasewatch.agent.djl.Corpus;
import io.phasewatch.agent.djl.PhasewatchTrainingListener;
import java.util.Map;
import java.util.Objects;
import java.util.Random;

/**
 * Trains a {@link TinyLanguageModel} on a {@link Corpus} with DJL's {@link Trainer}: AdamW (weight
 * decay, gradient clipping at 1), linear warmup then constant or cosine learning rate, next-token
 * cross-entropy. Each step draws {@code batchSize} fresh sequences of {@code contextLength + 1}
 * tokens and notifies the trainer's listeners exactly as DJL's {@code EasyTrain} does (after the
 * backward pass, before the optimizer step), so a {@link PhasewatchTrainingListener} behaves the
 * same here and under {@code EasyTrain.fit}, except that the batch data carries the step's loss
 * ({@link PhasewatchTrainingListener.BatchDataWithLoss}). One implementation serves the tests and
 * the demo.
 */
public final class LanguageModelTraining implements AutoCloseable {

  private final ModelConfig config;
  private final Corpus corpus;
  private final Model model;
  private final Trainer trainer;
  private final TinyLanguageModel block;
  private final Random data;
  private final Device device = Device.cpu();
  private long steps;
  private long tokensSeen;
  private boolean begun;

  private LanguageModelTraining(
      TinyLanguageModel block, Corpus corpus, TrainingListener... listeners) {
    ModelConfig config = block.config();
    if (corpus.vocabSize() > config.vocabSize()) {
      throw new IllegalArgumentException(
          "training: corpus vocabulary "
              + corpus.vocabSize()
              + " exceeds model vocabSize "
              + config.vocabSize());
    }
    this.config = config;
    this.corpus = corpus;
    this.data = new Random(config.seed() ^ 0x5DEECE66DL);
    this.block = block;
    this.model = Model.newInstance("phasewatch-tiny", device, "PyTorch");
    model.setBlock(block);
    Tracker lr = config::learningRateAt;
    Optimizer adamW =
        Optimizer.adamW()
            .optLearningRateTracker(lr)
            .optWeightDecays(config.weightDecay())
            .optClipGrad(1f)
            .build();
    DefaultTrainingConfig trainingConfig =
        new DefaultTrainingConfig(new FlatSoftmaxCrossEntropy())
            .optOptimizer(adamW)
            .optDevices(new Device[] {device})
            .addTrainingListeners(listeners);
    // Parameter initialisation draws from the engine's generator: seed it for reproducible runs.
    ai.djl.engine.Engine.getEngine("PyTorch").setRandomSeed((int) config.seed());
    this.trainer = model.newTrainer(trainingConfig);
    trainer.initialize(new Shape(config.batchSize(), config.contextLength()));
  }

  /**
   * Initialises {@code model} (built by {@link TinyLanguageModel#create}, with or without taps) and
   * its trainer, with {@code listeners} attached.
   */
  public static LanguageModelTraining start(
      TinyLanguageModel model, Corpus corpus, TrainingListener... listeners) {
    Objects.requireNonNull(model, "training: model");
    Objects.requireNonNull(corpus, "training: corpus");
    return new LanguageModelTraining(model, corpus, listeners);
  }

  /** One optimisation step; returns its mean training loss (nats per token). */
  public float step() {
    if (!begun) {
      begun = true;
      trainer.notifyListeners(l -> l.onTrainingBegin(trainer));
    }
    int b = config.batchSize();
    int t = config.contextLength();
    int[] flat = new int[b * (t + 1)];
    for (int i = 0; i < b; i++) {
      System.arraycopy(corpus.sample(data, t + 1), 0, flat, i * (t + 1), t + 1);
    }
    float lossValue;
    try (NDManager batchManager = trainer.getManager().newSubManager()) {
      NDArray all = batchManager.create(flat, new Shape(b, t + 1));
      NDArray inputs = all.get(":, :-1");
      NDArray labels = all.get(":, 1:");
      NDList x = new NDList(inputs);
      NDList y = new NDList(labels);
      NDList predictions;
      try (GradientCollector collector = trainer.newGradientCollector()) {
        predictions = trainer.forward(x);
        NDArray loss = trainer.getLoss().evaluate(y, predictions);
        collector.backward(loss);
        lossValue = loss.getFloat();
      }
      steps++;
      tokensSeen += (long) b * t;
      try (Batch batch =
          new Batch(batchManager, x, y, b, Batchifier.STACK, Batchifier.STACK, steps, steps)) {
        // The loss goes along with the batch, so listeners need not evaluate it a second time.
        TrainingListener.BatchData batchData =
            new PhasewatchTrainingListener.BatchDataWithLoss(
                batch, Map.of(device, y), Map.of(device, predictions), lossValue);
        trainer.notifyListeners(l -> l.onTrainingBatch(trainer, batchData));
      }
      trainer.step();
    }
    return lossValue;
  }

  /** Runs {@code n} steps; returns the loss of the last. */
  public float train(int n) {
    float loss = Float.NaN;
    for (int i = 0; i < n; i++) {
      loss = step();
    }
    return loss;
  }

  /** Logits {@code (n, T, V)} of {@code tokens} in inference mode, row-major. */
  public float[] logits(int[][] tokens) {
    int n = tokens.length;
    int t = tokens[0].length;
    int[] flat = new int[n * t];
    for (int i = 0; i < n; i++) {
      if (tokens[i].length != t) {
        throw new IllegalArgumentException("training: sequences of unequal length");
      }
      System.arraycopy(tokens[i], 0, flat, i * t, t);
    }
    try (NDManager m = trainer.getManager().newSubManager()) {
      NDArray x = m.create(flat, new Shape(n, t));
      return block
          .forward(new ai.djl.training.ParameterStore(m, false), new NDList(x), false)
          .head()
          .toFloatArray();
    }
  }

  public TinyLanguageModel model() {
    return block;
  }

  public Trainer trainer() {
    return trainer;
  }

  public ModelConfig config() {
    return config;
  }

  public long steps() {
    return steps;
  }

  public long tokensSeen() {
    return tokensSeen;
  }

  @Override
  public void close() {
    if (begun) {
      trainer.notifyListeners(l -> l.onTrainingEnd(trainer));
    }
    trainer.close();
    model.close();
  }
}
