package io.phasewatch.core.wire;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalDouble;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The training scalars of one window on one rank, travelling with its snapshots: the mean training
 * loss over the window's steps ({@value #LOSS}, its weight the number of steps), the learning rate
 * ({@value #LEARNING_RATE}) and any scalar the user named (held-out accuracy, eval loss), each the
 * latest value in the window with weight 1.
 *
 * <p>Every value is a weighted mean: merging windows of several ranks is the weight-weighted mean
 * with the weights added, so the loss of a window is the step-weighted mean over all ranks and a
 * named scalar the mean over the ranks that reported it. Bounded: at most {@value #MAX_SCALARS}
 * names of at most {@value #MAX_NAME_LENGTH} characters from {@code [a-z0-9_.]}, starting with a
 * letter; finite values; weights ≥ 1. The wire layout is the scalars section of
 * docs/wire-format.md.
 *
 * @param values name → (weight, value), sorted by name
 */
public record TrainingScalars(Map<String, Scalar> values) {

  /** The mean training loss of the window's steps; the weight counts the steps. */
  public static final String LOSS = "loss";

  /** The optimiser's learning rate at the last step of the window. */
  public static final String LEARNING_RATE = "learning_rate";

  public static final int MAX_SCALARS = 32;
  public static final int MAX_NAME_LENGTH = 64;

  private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_.]{0,63}");

  private static final TrainingScalars EMPTY = new TrainingScalars(Map.of());

  /**
   * One value and how many values it is the mean of.
   *
   * @param weight steps (loss) or reports (a named scalar) this value is the mean of, ≥ 1
   * @param value finite
   */
  public record Scalar(long weight, double value) {
    public Scalar {
      if (weight < 1 || weight > 0xFFFF_FFFFL) {
        throw new IllegalArgumentException(
            "training scalar: weight " + weight + " outside 1..2^32-1");
      }
      if (!Double.isFinite(value)) {
        throw new IllegalArgumentException("training scalar: value " + value + " is not finite");
      }
    }
  }

  public TrainingScalars {
    Objects.requireNonNull(values, "values");
    if (values.size() > MAX_SCALARS) {
      throw new IllegalArgumentException(
          "training scalars: " + values.size() + " names exceed limit " + MAX_SCALARS);
    }
    var sorted = new TreeMap<String, Scalar>();
    for (var e : values.entrySet()) {
      String problem = nameProblem(e.getKey());
      if (problem != null) {
        throw new IllegalArgumentException("training scalars: " + problem);
      }
      sorted.put(e.getKey(), Objects.requireNonNull(e.getValue(), "scalar " + e.getKey()));
    }
    values = Collections.unmodifiableSortedMap(sorted);
  }

  /** No scalars: the window's snapshots carry no scalars section. */
  public static TrainingScalars empty() {
    return EMPTY;
  }

  /**
   * Why {@code name} cannot name a scalar, or null when it can: {@code [a-z][a-z0-9_.]*}, at most
   * {@value #MAX_NAME_LENGTH} characters (it becomes a Prometheus label value and a JSON key).
   */
  public static String nameProblem(String name) {
    if (name == null || name.isEmpty()) {
      return "scalar name is empty";
    }
    if (name.length() > MAX_NAME_LENGTH) {
      return "scalar name of " + name.length() + " characters exceeds limit " + MAX_NAME_LENGTH;
    }
    if (!NAME.matcher(name).matches()) {
      return "scalar name '" + name + "' is not [a-z][a-z0-9_.]*";
    }
    return null;
  }

  public boolean isEmpty() {
    return values.isEmpty();
  }

  /** The value named {@code name}, if the window has it. */
  public OptionalDouble value(String name) {
    Scalar s = values.get(name);
    return s == null ? OptionalDouble.empty() : OptionalDouble.of(s.value());
  }

  /**
   * The weight-weighted mean of both windows' values per name, weights added: the merge of two
   * ranks' (or two windows') scalars. Names beyond {@value #MAX_SCALARS} keep the first ones in
   * name order.
   */
  public TrainingScalars merge(TrainingScalars other) {
    if (other.isEmpty()) {
      return this;
    }
    if (isEmpty()) {
      return other;
    }
    var merged = new TreeMap<String, Scalar>(values);
    for (var e : other.values.entrySet()) {
      merged.merge(
          e.getKey(),
          e.getValue(),
          (a, b) -> {
            long w = Math.min(a.weight() + b.weight(), 0xFFFF_FFFFL);
            double mean =
                a.value() + (b.value() - a.value()) * b.weight() / (a.weight() + b.weight());
            return new Scalar(w, mean);
          });
    }
    while (merged.size() > MAX_SCALARS) {
      merged.pollLastEntry();
    }
    return new TrainingScalars(merged);
  }
}
