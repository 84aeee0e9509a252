package io.phasewatch.agent.core;

import io.phasewatch.core.wire.TrainingScalars;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The training scalars of the open window, owned by the sketch thread: the running mean of the
 * steps' finite losses and the latest value of every other name. The loss and the learning rate are
 * values of a step: both go with the next step end ({@link #stepEnded}), so they land in the window
 * that holds their step whichever mode closes it. At most {@link TrainingScalars#MAX_SCALARS} names
 * over the whole run, so that a loop recording a fresh name each step cannot grow it; later names
 * are refused.
 */
final class ScalarWindow {
  private final Set<String> names = new HashSet<>();
  private final Map<String, Double> latest = new TreeMap<>();
  private long lossSteps;
  private double lossMean;
  private double pendingLearningRate = Double.NaN;

  /**
   * A step ended: folds its loss in (non-finite losses — a diverged step, no loss known — are
   * skipped) and the learning rate recorded since the previous step end.
   */
  void stepEnded(double loss) {
    if (!Double.isNaN(pendingLearningRate)) {
      latest.put(TrainingScalars.LEARNING_RATE, pendingLearningRate);
      pendingLearningRate = Double.NaN;
    }
    if (Double.isFinite(loss)) {
      names.add(TrainingScalars.LOSS);
      lossSteps++;
      lossMean += (loss - lossMean) / lossSteps;
    }
  }

  /** Keeps the latest value of {@code name}; false when the run already has too many names. */
  boolean set(String name, double value) {
    if (!names.contains(name)) {
      // The loss takes one of the places once it is seen; keep one free for it until then.
      int room = TrainingScalars.MAX_SCALARS - (names.contains(TrainingScalars.LOSS) ? 0 : 1);
      if (names.size() >= room) {
        return false;
      }
      names.add(name);
    }
    if (TrainingScalars.LEARNING_RATE.equals(name)) {
      pendingLearningRate = value;
    } else {
      latest.put(name, value);
    }
    return true;
  }

  boolean isEmpty() {
    return lossSteps == 0 && latest.isEmpty();
  }

  /** The window's scalars as they travel, without clearing them. */
  TrainingScalars snapshot() {
    var values = new TreeMap<String, TrainingScalars.Scalar>();
    latest.forEach((name, v) -> values.put(name, new TrainingScalars.Scalar(1, v)));
    if (lossSteps > 0) {
      values.put(TrainingScalars.LOSS, new TrainingScalars.Scalar(lossSteps, lossMean));
    }
    return new TrainingScalars(values);
  }

  /** Starts the next window. */
  void clear() {
    latest.clear();
    lossSteps = 0;
    lossMean = 0;
  }
}
