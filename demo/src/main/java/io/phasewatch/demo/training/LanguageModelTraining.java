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
import ai.djl.training.loss.Loss;
import ai.djl.training.loss.SoftmaxCrossEntropyLoss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.translate.Batchifier;
import io.phasewatch.agent.djl.Corpus;
import io.phasewatch.agent.djl.PhasewatchTrainingListener;
import java.util.Map;
import java.util.Objects;
import java.util.Random;

/**
 * Trains a {@link TinyLanguageModel} with DJL's {@link Trainer}: AdamW (weight decay, gradient
 * clipping at 1), linear warmup then constant or cosine learning rate. On a {@link Corpus} the loss
 * is next-token cross-entropy and each step draws {@code batchSize} fresh sequences of {@code
 * contextLength + 1} tokens; on {@link ModularAddition} it is the cross-entropy of the answer at
 * the last position of {@code batchSize} training pairs. Each step notifies the trainer's listeners
 * exactly as DJL's {@code EasyTrain} does (after the backward pass, before the optimizer step), so
 * a {@link PhasewatchTrainingListener} behaves the same here and under {@code EasyTrain.fit},
 * except that the batch data carries the step's loss ({@link
 * PhasewatchTrainingListener.BatchDataWithLoss}). One implementation serves the tests and the demo.
 */
public final class LanguageModelTraining implements AutoCloseable {

  /** What a step trains on: a batch of inputs {@code (B, T)} and the labels its loss reads. */
  private interface Examples {
    int vocabSize();

    Loss loss();

    /** Flat inputs {@code (batch, contextLength)} and labels of {@link #labelShape}. */
    int[][] draw(Random rng, int batch, int contextLength);

    Shape labelShape(int batch, int contextLength);
  }

  private record NextToken(Corpus corpus) implements Examples {
    @Override
    public int vocabSize() {
      return corpus.vocabSize();
    }

    @Override
    public Loss loss() {
      return new FlatSoftmaxCrossEntropy();
    }

    @Override
    public int[][] draw(Random rng, int b, int t) {
      int[] inputs = new int[b * t];
      int[] labels = new int[b * t];
      for (int i = 0; i < b; i++) {
        int[] seq = corpus.sample(rng, t + 1);
        System.arraycopy(seq, 0, inputs, i * t, t);
        System.arraycopy(seq, 1, labels, i * t, t);
      }
      return new int[][] {inputs, labels};
    }

    @Override
    public Shape labelShape(int b, int t) {
      return new Shape(b, t);
    }
  }

  private record LastPosition(ModularAddition task) implements Examples {
    @Override
    public int vocabSize() {
      return task.vocabSize();
    }

    @Override
    public Loss loss() {
      return new LastPositionCrossEntropy();
    }

    @Override
    public int[][] draw(Random rng, int b, int t) {
      int[] inputs = new int[b * t];
      int[] labels = new int[b];
      for (int i = 0; i < b; i++) {
        int[] pair = task.draw(rng);
        System.arraycopy(task.sequence(pair[0], pair[1]), 0, inputs, i * t, t);
        labels[i] = task.answer(pair[0], pair[1]);
      }
      return new int[][] {inputs, labels};
    }

    @Override
    public Shape labelShape(int b, int t) {
      return new Shape(b);
    }
  }

  /** Cross-entropy of the logits at the last position {@code (B, V)} against labels {@code (B)}. */
  private static final class LastPositionCrossEntropy extends Loss {
    private final SoftmaxCrossEntropyLoss inner = new SoftmaxCrossEntropyLoss("ce");

    LastPositionCrossEntropy() {
      super("answer_ce");
    }

    @Override
    public NDArray evaluate(NDList labels, NDList predictions) {
      NDArray last = predictions.head().get(":, -1, :");
      return inner.evaluate(labels, new NDList(last));
    }
  }

  private final ModelConfig config;
  private final Examples examples;
  private final Model model;
  private final Trainer trainer;
  private final TinyLanguageModel block;
  private final Random data;
  private final Device device = Device.cpu();
  private long steps;
  private long tokensSeen;
  private boolean begun;

  private LanguageModelTraining(
      TinyLanguageModel block, Examples examples, TrainingListener... listeners) {
    ModelConfig config = block.config();
    if (examples.vocabSize() > config.vocabSize()) {
      throw new IllegalArgumentException(
          "training: data vocabulary "
              + examples.vocabSize()
              + " exceeds model vocabSize "
              + config.vocabSize());
    }
    this.config = config;
    this.examples = examples;
    this.data = new Random(config.seed() ^ 0x5DEECE66DL);
    this.block = block;
    this.model = Model.newInstance("phasewatch-tiny", device, "PyTorch");
    model.setBlock(block);
    Tracker lr = config::learningRateAt;
    Optimizer adamW =
        Optimizer.adamW()
            .optLearningRateTracker(lr)
            .optWeightDecays(config.weightDecay())
            .optBeta2(config.beta2())
            .optClipGrad(1f)
            .build();
    DefaultTrainingConfig trainingConfig =
        new DefaultTrainingConfig(examples.loss())
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
    return new LanguageModelTraining(model, new NextToken(corpus), listeners);
  }

  /**
   * Initialises {@code model} to learn {@code task}: its {@code contextLength} must be {@link
   * ModularAddition#sequenceLength()}.
   */
  public static LanguageModelTraining start(
      TinyLanguageModel model, ModularAddition task, TrainingListener... listeners) {
    Objects.requireNonNull(model, "training: model");
    Objects.requireNonNull(task, "training: task");
    if (model.config().contextLength() != ModularAddition.sequenceLength()) {
      throw new IllegalArgumentException(
          "training: modular addition needs contextLength "
              + ModularAddition.sequenceLength()
              + ", model has "
              + model.config().contextLength());
    }
    return new LanguageModelTraining(model, new LastPosition(task), listeners);
  }

  /** One optimisation step; returns its mean training loss (nats per token). */
  public float step() {
    if (!begun) {
      begun = true;
      trainer.notifyListeners(l -> l.onTrainingBegin(trainer));
    }
    int b = config.batchSize();
    int t = config.contextLength();
    int[][] drawn = examples.draw(data, b, t);
    float lossValue;
    try (NDManager batchManager = trainer.getManager().newSubManager()) {
      NDArray inputs = batchManager.create(drawn[0], new Shape(b, t));
      NDArray labels = batchManager.create(drawn[1], examples.labelShape(b, t));
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
