package io.phasewatch.demo.training;

import io.phasewatch.agent.djl.ProbeSet;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The grokking task: {@code a + b mod p}. A sequence is {@code a b =} (three tokens, {@code =} is
 * token {@code p}), and the answer is read from the logits at the last position. The {@code p²}
 * pairs are shuffled once with the task's seed and split into a training share and a held-out rest,
 * so held-out accuracy measures generalisation to pairs never trained on (Power et al. 2022).
 *
 * <p>Training batches draw pairs from the training share with replacement. With {@code skew > 0}
 * the first operand's frequency follows a Zipf law over its value ({@code P(a) ∝ (a+1)^-skew}): the
 * study ties the warmup collapse to skewed data, so a skew gives the collapse a chance to show.
 */
public final class ModularAddition {

  private final int modulus;
  private final int[][] train;
  private final int[][] heldOut;
  private final double[] cumulative;

  private ModularAddition(int modulus, int[][] train, int[][] heldOut, double[] cumulative) {
    this.modulus = modulus;
    this.train = train;
    this.heldOut = heldOut;
    this.cumulative = cumulative;
  }

  /**
   * @param modulus p, a prime or not; 2 … 1024
   * @param trainFraction share of the p² pairs trained on, in (0, 1): the rest is held out
   * @param skew Zipf exponent of the first operand's frequency in training batches (0: uniform)
   * @param seed the split's seed
   */
  public static ModularAddition of(int modulus, double trainFraction, double skew, long seed) {
    if (modulus < 2 || modulus > 1024) {
      throw new IllegalArgumentException("modular addition: p " + modulus + " outside [2, 1024]");
    }
    if (!(trainFraction > 0 && trainFraction < 1)) {
      throw new IllegalArgumentException(
          "modular addition: train fraction " + trainFraction + " outside (0, 1)");
    }
    if (!(skew >= 0 && skew <= 10)) {
      throw new IllegalArgumentException("modular addition: skew " + skew + " outside [0, 10]");
    }
    List<int[]> pairs = new ArrayList<>(modulus * modulus);
    for (int a = 0; a < modulus; a++) {
      for (int b = 0; b < modulus; b++) {
        pairs.add(new int[] {a, b});
      }
    }
    Collections.shuffle(pairs, new Random(seed));
    int nTrain = (int) Math.round(trainFraction * pairs.size());
    if (nTrain < 1 || nTrain >= pairs.size()) {
      throw new IllegalArgumentException(
          "modular addition: train fraction "
              + trainFraction
              + " of "
              + pairs.size()
              + " pairs leaves one side empty");
    }
    int[][] train = pairs.subList(0, nTrain).toArray(new int[0][]);
    int[][] heldOut = pairs.subList(nTrain, pairs.size()).toArray(new int[0][]);
    double[] cumulative = new double[train.length];
    double total = 0;
    for (int i = 0; i < train.length; i++) {
      total += Math.pow(train[i][0] + 1, -skew);
      cumulative[i] = total;
    }
    for (int i = 0; i < cumulative.length; i++) {
      cumulative[i] /= total;
    }
    return new ModularAddition(modulus, train, heldOut, cumulative);
  }

  public int modulus() {
    return modulus;
  }

  /** Operands {@code 0 … p−1} and the {@code =} token. */
  public int vocabSize() {
    return modulus + 1;
  }

  /** Tokens per sequence: {@code a b =}. */
  public static int sequenceLength() {
    return 3;
  }

  public int answer(int a, int b) {
    return (a + b) % modulus;
  }

  /** The input sequence {@code a b =}. */
  public int[] sequence(int a, int b) {
    return new int[] {a, b, modulus};
  }

  /** The input sequences {@code a b =} of {@code pairs}. */
  public int[][] sequences(int[][] pairs) {
    int[][] seqs = new int[pairs.length][];
    for (int i = 0; i < pairs.length; i++) {
      seqs[i] = sequence(pairs[i][0], pairs[i][1]);
    }
    return seqs;
  }

  /**
   * The fixed probe: {@code n} distinct pairs drawn from all {@code p²} with {@code seed}, training
   * and held-out alike (the representation of the whole task is what is measured), read at the last
   * position.
   */
  public ProbeSet probe(int n, long seed) {
    int all = modulus * modulus;
    if (n < 1 || n > all) {
      throw new IllegalArgumentException(
          "modular addition: probe of " + n + " pairs outside [1, " + all + "]");
    }
    List<int[]> pairs = new ArrayList<>(all);
    for (int a = 0; a < modulus; a++) {
      for (int b = 0; b < modulus; b++) {
        pairs.add(new int[] {a, b});
      }
    }
    Collections.shuffle(pairs, new Random(seed));
    return ProbeSet.of(sequences(pairs.subList(0, n).toArray(new int[0][])), 0);
  }

  /** Copies of the training pairs, each {@code {a, b}}. */
  public int[][] trainPairs() {
    return copy(train);
  }

  /** Copies of the held-out pairs, each {@code {a, b}}. */
  public int[][] heldOutPairs() {
    return copy(heldOut);
  }

  /** One training pair drawn with {@code rng} (with replacement, operand skew applied). */
  public int[] draw(Random rng) {
    double u = rng.nextDouble();
    int lo = 0;
    int hi = cumulative.length - 1;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (cumulative[mid] < u) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return train[lo].clone();
  }

  /**
   * Share of {@code pairs} whose answer is the arg-max of {@code logits}, given as {@code (n, T,
   * V)} row-major with the answer read at the last position {@code T−1}.
   */
  public double accuracy(int[][] pairs, float[] logits) {
    int v = vocabSize();
    int t = sequenceLength();
    if (logits.length != pairs.length * t * v) {
      throw new IllegalArgumentException(
          "modular addition: "
              + logits.length
              + " logits for "
              + pairs.length
              + " pairs of "
              + t
              + " tokens over "
              + v);
    }
    int correct = 0;
    for (int i = 0; i < pairs.length; i++) {
      int base = (i * t + t - 1) * v;
      int best = 0;
      for (int k = 1; k < v; k++) {
        if (logits[base + k] > logits[base + best]) {
          best = k;
        }
      }
      correct += best == answer(pairs[i][0], pairs[i][1]) ? 1 : 0;
    }
    return (double) correct / pairs.length;
  }

  private static int[][] copy(int[][] pairs) {
    int[][] out = new int[pairs.length][];
    for (int i = 0; i < pairs.length; i++) {
      out[i] = pairs[i].clone();
    }
    return out;
  }
}
