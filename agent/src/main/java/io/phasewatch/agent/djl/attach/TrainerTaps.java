package io.phasewatch.agent.djl.attach;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.Trainer;
import io.phasewatch.agent.capture.CaptureSink;
import io.phasewatch.agent.config.Globs;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * What the advice calls into. Binds to the first {@link Trainer} that runs a forward pass or a step
 * (until it is closed), names its model's blocks ({@link BlockNames}), and on every K-th step
 * copies r random rows of each selected block's training output to the sink; every step end goes to
 * the sink too, with the loss that step handed to {@code GradientCollector.backward} when the step
 * was sampled (NaN otherwise). Steps count from the first step the agent sees.
 *
 * <p>Cost when a step is not sampled: one volatile read and a branch per block forward.
 */
final class TrainerTaps {

  private static final Logger LOG = Logger.getLogger(TrainerTaps.class.getName());

  private final CaptureSink sink;
  private final List<String> globs;
  private final int everySteps;
  private final int rowsPerStep;
  private final Random rng;
  private final BiConsumer<String, Throwable> onFailure;

  /** True while the forward pass in progress belongs to a sampled step. */
  volatile boolean armed;

  private WeakReference<Trainer> bound = new WeakReference<>(null);
  private volatile Map<Object, Tap> taps = Map.of();
  private List<String> tapped = List.of();
  private long stepsDone;
  private long tokensSeen;
  private long otherTrainers;
  private double stepLossSum;
  private int stepLosses;
  private volatile boolean failed;

  private static final class Tap {
    final String name;
    long lastStep = -1;

    Tap(String name) {
      this.name = name;
    }
  }

  TrainerTaps(
      CaptureSink sink,
      List<String> globs,
      int everySteps,
      int rowsPerStep,
      long seed,
      BiConsumer<String, Throwable> onFailure) {
    this.sink = sink;
    this.globs = List.copyOf(globs);
    this.everySteps = everySteps;
    this.rowsPerStep = rowsPerStep;
    this.rng = new Random(seed);
    this.onFailure = onFailure;
  }

  synchronized void trainerForward(Object trainer, Object input) {
    if (!bind((Trainer) trainer)) {
      return;
    }
    if (input instanceof NDList list && !list.isEmpty()) {
      tokensSeen += list.head().getShape().size();
    }
    armed = !taps.isEmpty() && (stepsDone + 1) % everySteps == 0;
  }

  synchronized void stepExit(Object trainer) {
    if (!bind((Trainer) trainer)) {
      return;
    }
    stepsDone++;
    armed = false;
    double loss = stepLosses == 0 ? Double.NaN : stepLossSum / stepLosses;
    stepLossSum = 0;
    stepLosses = 0;
    sink.stepEnded(stepsDone, tokensSeen, loss);
    // A loop that never calls Trainer.forward still gets its taps armed for the next step.
    armed = !taps.isEmpty() && (stepsDone + 1) % everySteps == 0;
  }

  /**
   * The loss a sampled step hands to {@code backward} (several with gradient accumulation: their
   * mean goes to the step end). A scalar of float type is read, anything else is left alone. The
   * read waits for the loss to be computed, which backward is about to do anyway.
   */
  synchronized void backward(Object target) {
    if (!armed || bound.get() == null || !(target instanceof NDArray loss)) {
      return;
    }
    if (loss.size() != 1 || loss.getDataType() != DataType.FLOAT32) {
      return;
    }
    stepLossSum += loss.getFloat();
    stepLosses++;
  }

  synchronized void trainerClosed(Object trainer) {
    if (bound.get() == trainer) {
      bound = new WeakReference<>(null);
      taps = Map.of();
      armed = false;
    }
  }

  void forwardExit(Object block, Object out) {
    Tap tap = taps.get(block);
    if (tap == null) {
      return;
    }
    synchronized (this) {
      long step = stepsDone + 1;
      if (!armed || tap.lastStep == step || !(out instanceof NDList list) || list.isEmpty()) {
        return;
      }
      tap.lastStep = step;
      sample(tap.name, step, list.head());
    }
  }

  /** Binds to {@code trainer} if none is bound; false for a trainer other than the bound one. */
  private boolean bind(Trainer trainer) {
    Trainer current = bound.get();
    if (current == trainer) {
      return true;
    }
    if (current != null) {
      if (otherTrainers++ == 0) {
        LOG.info("phasewatch: a second DJL Trainer runs; only the first one is tapped");
      }
      return false;
    }
    bound = new WeakReference<>(trainer);
    Block root = trainer.getModel().getBlock();
    Map<String, Block> blocks = BlockNames.of(root);
    var selected = new IdentityHashMap<Object, Tap>();
    var names = new ArrayList<String>();
    Set<String> unmatched = new HashSet<>(globs);
    for (var e : blocks.entrySet()) {
      for (String glob : globs) {
        if (Globs.matches(glob, e.getKey())) {
          unmatched.remove(glob);
          if (!selected.containsKey(e.getValue())) {
            selected.put(e.getValue(), new Tap(e.getKey()));
            names.add(e.getKey());
          }
        }
      }
    }
    taps = selected;
    tapped = List.copyOf(names);
    String model = trainer.getModel().getName();
    if (globs.isEmpty()) {
      LOG.warning(
          "phasewatch: found the trainer of model '"
              + model
              + "' but sampling.taps is empty, so nothing is tapped; its blocks: "
              + blocks.keySet());
    } else {
      LOG.info(
          "phasewatch: tapping "
              + names
              + " of model '"
              + model
              + "' every "
              + everySteps
              + " steps"
              + (unmatched.isEmpty()
                  ? ""
                  : "; no block matches " + unmatched + " (its blocks: " + blocks.keySet() + ")"));
    }
    return true;
  }

  /** Names of the blocks tapped in the bound trainer's model. */
  synchronized List<String> tapped() {
    return tapped;
  }

  synchronized long stepsSeen() {
    return stepsDone;
  }

  private void sample(String name, long step, NDArray out) {
    Shape shape = out.getShape();
    if (shape.dimension() < 2) {
      return;
    }
    long d = shape.get(shape.dimension() - 1);
    long n = d == 0 ? 0 : shape.size() / d;
    if (n < 1 || d < 1 || d > Integer.MAX_VALUE / rowsPerStep) {
      return;
    }
    int r = (int) Math.min(rowsPerStep, n);
    long[] index = distinct(n, r);
    NDArray detached = null;
    NDArray flat = null;
    NDArray at = null;
    NDArray picked = null;
    NDArray floats = null;
    try {
      // Off the autograd graph: the copy must not add to what backward computes.
      detached = out.stopGradient();
      flat = detached.reshape(-1, d);
      at = out.getManager().create(index);
      picked = flat.get(at);
      floats = picked.toType(DataType.FLOAT32, false);
      float[] rows = floats.toFloatArray();
      sink.rows(name, step, rows, r, (int) d);
    } finally {
      for (NDArray a : new NDArray[] {floats, picked, at, flat, detached}) {
        if (a != null) {
          a.close();
        }
      }
    }
  }

  /** {@code r} distinct positions of {@code [0, n)}, uniform (Floyd's algorithm, O(r)). */
  private long[] distinct(long n, int r) {
    var chosen = new HashSet<Long>();
    long[] out = new long[r];
    int k = 0;
    for (long j = n - r; j < n; j++) {
      long t = (long) (rng.nextDouble() * (j + 1));
      out[k++] = chosen.add(t) ? t : j;
      if (out[k - 1] == j) {
        chosen.add(j);
      }
    }
    return out;
  }

  void fail(String part, Throwable t) {
    armed = false;
    if (!failed) {
      failed = true;
      LOG.log(
          Level.SEVERE,
          "phasewatch: failure in the DJL instrumentation ("
              + part
              + "); the agent detaches itself, training goes on",
          t);
      onFailure.accept(part, t);
    }
  }
}
