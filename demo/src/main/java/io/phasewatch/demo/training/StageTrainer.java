package io.phasewatch.demo.training;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.translate.Batchifier;
import io.phasewatch.agent.djl.PhasewatchTrainingListener;
import java.util.Map;
import java.util.function.Function;

/**
 * What the three post-training stages share: a fresh DJL {@link Trainer} (own AdamW state, as a new
 * stage of a real pipeline has) over the same, already trained {@link TinyLanguageModel} block, and
 * one optimisation step that runs a stage's objective inside a gradient collector and notifies the
 * listeners the way {@link LanguageModelTraining} does, so the step count, the probe and the live
 * taps carry on across stages.
 *
 * <p>The block's parameters belong to the pretraining model's manager: the pretraining {@link
 * LanguageModelTraining} must stay open while a stage runs.
 */
abstract class StageTrainer implements AutoCloseable {

  /** Linear warmup of every stage's learning rate, in optimizer updates. */
  static final int WARMUP = 10;

  private final Model model;
  private final Trainer trainer;
  private final Device device = Device.cpu();
  final TinyLanguageModel block;
  private long steps;
  private long updates;

  StageTrainer(
      String name, TinyLanguageModel block, float learningRate, TrainingListener... listeners) {
    this.block = block;
    this.model = Model.newInstance("phasewatch-" + name, device, "PyTorch");
    model.setBlock(block);
    Tracker lr = update -> learningRate * Math.min(1f, Math.max(1, update) / (float) WARMUP);
    Optimizer adamW =
        Optimizer.adamW().optLearningRateTracker(lr).optWeightDecays(0f).optClipGrad(1f).build();
    DefaultTrainingConfig config =
        new DefaultTrainingConfig(new StageLoss(name))
            .optOptimizer(adamW)
            .optDevices(new Device[] {device})
            .addTrainingListeners(listeners);
    // No trainer.initialize(): the block is initialised and trained; Parameter.initialize would
    // keep its arrays anyway, and the optimizer creates its state on the first update.
    this.trainer = model.newTrainer(config);
  }

  /**
   * One optimisation step: {@code objective} maps the policy's training-mode logits of {@code
   * inputs} {@code (B, T, V)} to a scalar loss; returns that loss.
   */
  final float optimise(NDManager m, NDArray inputs, Function<NDArray, NDArray> objective) {
    return optimise(m, inputs, objective, true);
  }

  /**
   * As {@link #optimise(NDManager, NDArray, Function)}; with {@code update = false} the step is
   * counted and reported but the optimizer is not stepped (a batch without any learning signal,
   * whose gradients are all zero, which DJL's {@code Trainer.step} rejects).
   */
  final float optimise(
      NDManager m, NDArray inputs, Function<NDArray, NDArray> objective, boolean update) {
    float value;
    NDArray loss;
    try (GradientCollector collector = trainer.newGradientCollector()) {
      NDArray logits = trainer.forward(new NDList(inputs)).head();
      loss = objective.apply(logits);
      collector.backward(loss);
      value = loss.getFloat();
    }
    steps++;
    long b = inputs.getShape().get(0);
    NDList x = new NDList(inputs);
    // Labels: the trained tokens (the listener counts them); prediction: the stage's loss (read
    // back through StageLoss by listeners that evaluate the trainer's loss); the loss value itself
    // goes along for the phasewatch listener.
    NDList y = new NDList(inputs);
    NDList p = new NDList(loss.stopGradient());
    try (Batch batch =
        new Batch(m, x, y, (int) b, Batchifier.STACK, Batchifier.STACK, steps, steps)) {
      TrainingListener.BatchData data =
          new PhasewatchTrainingListener.BatchDataWithLoss(
              batch, Map.of(device, y), Map.of(device, p), value);
      trainer.notifyListeners(l -> l.onTrainingBatch(trainer, data));
    }
    if (update) {
      trainer.step();
      updates++;
    }
    return value;
  }

  NDManager newBatchManager() {
    return trainer.getManager().newSubManager();
  }

  long steps() {
    return steps;
  }

  /** Optimizer updates made (steps without a learning signal make none). */
  long updates() {
    return updates;
  }

  /** Tokens {@code (rows, width)} as an int array on {@code m}. */
  static NDArray tokens(NDManager m, int[][] rows, int width) {
    int[] flat = new int[rows.length * width];
    for (int i = 0; i < rows.length; i++) {
      System.arraycopy(rows[i], 0, flat, i * width, Math.min(width, rows[i].length));
    }
    return m.create(flat, new Shape(rows.length, width));
  }

  static NDArray floats(NDManager m, float[][] rows, int width) {
    float[] flat = new float[rows.length * width];
    for (int i = 0; i < rows.length; i++) {
      System.arraycopy(rows[i], 0, flat, i * width, Math.min(width, rows[i].length));
    }
    return m.create(flat, new Shape(rows.length, width));
  }

  /**
   * Log-probability of each target under {@code logits}: {@code (B, T, V)}, {@code (B, T)} → {@code
   * (B, T)}.
   */
  static NDArray tokenLogProbs(NDArray logits, NDArray targets) {
    NDArray index = targets.toType(DataType.INT64, false).expandDims(-1);
    return logits.logSoftmax(-1).gather(index, -1).squeeze(-1);
  }

  @Override
  public void close() {
    trainer.notifyListeners(l -> l.onTrainingEnd(trainer));
    trainer.close();
    // The block's parameter arrays live under the pretraining model's manager, not this one's, so
    // closing this model frees only what the stage allocated.
    model.close();
  }
}
