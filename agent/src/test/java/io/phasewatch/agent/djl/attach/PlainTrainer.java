package io.phasewatch.agent.djl.attach;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.translate.Batchifier;
import ai.djl.util.PairList;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A training program that knows nothing of phasewatch: plain DJL, a three-block regression net on
 * {@code (B, T, 12)} inputs, trained with {@code EasyTrain.trainBatch} and {@code Trainer.step}.
 * Runs {@code maxSteps} steps or until the file {@code stop} exists, pausing {@code pauseMillis}
 * (default 3) after each; prints {@code ready} after the first step, {@code done <steps>} at the
 * end, and with a fourth argument {@code timing} a line {@code t <step> <nanos>} per step (the time
 * of {@code trainBatch} plus {@code step}). The agent ITs run it in a JVM of its own.
 */
public final class PlainTrainer {

  private PlainTrainer() {}

  /** Blocks {@code embed} (d 32), {@code hidden} (d 24) and {@code head} (d 8). */
  static final class Net extends AbstractBlock {
    private final Linear embed = addChildBlock("embed", Linear.builder().setUnits(32).build());
    private final Linear hidden = addChildBlock("hidden", Linear.builder().setUnits(24).build());
    private final Linear head = addChildBlock("head", Linear.builder().setUnits(8).build());

    @Override
    protected NDList forwardInternal(
        ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
      NDList x = embed.forward(ps, inputs, training);
      x = new NDList(Activation.relu(x.head()));
      x = hidden.forward(ps, x, training);
      x = new NDList(Activation.relu(x.head()));
      return head.forward(ps, x, training);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
      Shape in = inputShapes[0];
      return new Shape[] {new Shape(in.get(0), in.get(1), 8)};
    }

    @Override
    public void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
      Shape in = inputShapes[0];
      embed.initialize(manager, dataType, in);
      hidden.initialize(manager, dataType, new Shape(in.get(0), in.get(1), 32));
      head.initialize(manager, dataType, new Shape(in.get(0), in.get(1), 24));
    }
  }

  public static void main(String[] args) throws Exception {
    long maxSteps = Long.parseLong(args[0]);
    Path stop = Path.of(args[1]);
    long pause = args.length > 2 ? Long.parseLong(args[2]) : 3;
    boolean timing = args.length > 3 && args[3].equals("timing");
    int b = 8;
    int t = 16;
    try (Model model = Model.newInstance("plain", "PyTorch")) {
      model.setBlock(new Net());
      var config =
          new DefaultTrainingConfig(Loss.l2Loss())
              .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(1e-3f)).build());
      try (Trainer trainer = model.newTrainer(config)) {
        trainer.initialize(new Shape(b, t, 12));
        NDManager m = trainer.getManager();
        NDArray w = m.randomNormal(new Shape(12, 8));
        long step = 0;
        while (step < maxSteps && !Files.exists(stop)) {
          try (NDManager batchManager = m.newSubManager()) {
            NDArray x = batchManager.randomNormal(new Shape(b, t, 12));
            NDArray y = x.matMul(w).tanh();
            try (Batch batch =
                new Batch(
                    batchManager,
                    new NDList(x),
                    new NDList(y),
                    b,
                    Batchifier.STACK,
                    Batchifier.STACK,
                    step,
                    maxSteps)) {
              long t0 = System.nanoTime();
              EasyTrain.trainBatch(trainer, batch);
              trainer.step();
              if (timing) {
                System.out.println("t " + (step + 1) + " " + (System.nanoTime() - t0));
              }
            }
          }
          step++;
          if (step == 1) {
            System.out.println("ready");
            System.out.flush();
          }
          if (pause > 0) {
            Thread.sleep(pause);
          }
        }
        System.out.println("done " + step);
      }
    }
  }
}
