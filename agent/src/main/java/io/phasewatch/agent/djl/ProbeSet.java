package io.phasewatch.agent.djl;

import java.util.Arrays;
import java.util.Random;

/**
 * A fixed set of probe sequences, right-padded to a common length, with the position of each
 * sequence's last non-pad token. Fixed so that measurements at different steps compare the same
 * inputs (spectra depend on the sample, DESIGN.md: compare only at a fixed N).
 */
public final class ProbeSet {

  private final int[][] sequences;
  private final int[] lastIndex;
  private final int length;

  private ProbeSet(int[][] sequences, int[] lastIndex, int length) {
    this.sequences = sequences;
    this.lastIndex = lastIndex;
    this.length = length;
  }

  /**
   * {@code n} held-out sequences from {@code corpus}, lengths uniform in {@code [minLength,
   * maxLength]}, drawn with their own seed so they never coincide with a training stream.
   */
  public static ProbeSet fromCorpus(Corpus corpus, int n, int minLength, int maxLength, long seed) {
    if (n < 1 || n > LayerTaps.MAX_PROBE_ROWS) {
      throw new IllegalArgumentException(
          "probe set: n " + n + " outside [1, " + LayerTaps.MAX_PROBE_ROWS + "]");
    }
    if (minLength < 1 || maxLength < minLength) {
      throw new IllegalArgumentException(
          "probe set: lengths [" + minLength + ", " + maxLength + "] are not a range ≥ 1");
    }
    Random rng = new Random(seed);
    int[][] seqs = new int[n][];
    for (int i = 0; i < n; i++) {
      int len = minLength + rng.nextInt(maxLength - minLength + 1);
      seqs[i] = corpus.sample(rng, len);
    }
    return of(seqs, 0);
  }

  /** Given sequences (copied), right-padded with {@code padToken} to the longest. */
  public static ProbeSet of(int[][] sequences, int padToken) {
    if (sequences.length < 1 || sequences.length > LayerTaps.MAX_PROBE_ROWS) {
      throw new IllegalArgumentException(
          "probe set: "
              + sequences.length
              + " sequences, outside [1, "
              + LayerTaps.MAX_PROBE_ROWS
              + "]");
    }
    int length = 0;
    for (int i = 0; i < sequences.length; i++) {
      if (sequences[i].length < 1) {
        throw new IllegalArgumentException("probe set: sequence " + i + " is empty");
      }
      length = Math.max(length, sequences[i].length);
    }
    int[][] padded = new int[sequences.length][];
    int[] last = new int[sequences.length];
    for (int i = 0; i < sequences.length; i++) {
      padded[i] = Arrays.copyOf(sequences[i], length);
      Arrays.fill(padded[i], sequences[i].length, length, padToken);
      last[i] = sequences[i].length - 1;
    }
    return new ProbeSet(padded, last, length);
  }

  /**
   * This rank's share for data-parallel training: rank {@code r} of {@code w} keeps sequences r,
   * r+w, ….
   */
  public ProbeSet shard(int rank, int world) {
    if (world < 1 || rank < 0 || rank >= world) {
      throw new IllegalArgumentException(
          "probe set: rank " + rank + " outside [0, " + world + ") for world " + world);
    }
    int n = (sequences.length - rank + world - 1) / world;
    if (n == 0) {
      throw new IllegalArgumentException(
          "probe set: "
              + sequences.length
              + " sequences leave rank "
              + rank
              + " of "
              + world
              + " none");
    }
    int[][] seqs = new int[n][];
    int[] last = new int[n];
    for (int i = 0; i < n; i++) {
      seqs[i] = sequences[rank + i * world];
      last[i] = lastIndex[rank + i * world];
    }
    return new ProbeSet(seqs, last, length);
  }

  public int size() {
    return sequences.length;
  }

  /** Padded length of every sequence. */
  public int length() {
    return length;
  }

  /** A copy of sequence {@code i}, padded. */
  public int[] sequence(int i) {
    return sequences[i].clone();
  }

  /** Position of the last non-pad token of sequence {@code i}. */
  public int lastIndex(int i) {
    return lastIndex[i];
  }

  /** Sequences {@code [from, to)} as one row-major array. */
  int[] flatten(int from, int to) {
    int[] flat = new int[(to - from) * length];
    for (int i = from; i < to; i++) {
      System.arraycopy(sequences[i], 0, flat, (i - from) * length, length);
    }
    return flat;
  }

  int[] lastIndices(int from, int to) {
    return Arrays.copyOfRange(lastIndex, from, to);
  }
}
