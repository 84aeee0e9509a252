package io.phasewatch.demo.training;

import io.phasewatch.agent.djl.Corpus;
import java.util.Arrays;
import java.util.Random;

/**
 * A generated corpus with the properties the study ties the phases to: a skewed (Zipf) unigram
 * distribution over {@code V} tokens, learnable bigram and trigram structure, and repeated spans
 * that reward in-context copying. Built as described in PHASES-EXPERIMENT.md: every context has a
 * bigram row and a hashed trigram row of {@value #SUCCESSORS} successors drawn from the unigram and
 * Zipf(1)-weighted within the row; a step follows a table with probability {@code follow}, else
 * draws from the unigram; a fraction of sequences repeats an 8–16-token span. Everything derives
 * from the seed, so two instances with equal arguments generate equal sequences from equal
 * generators.
 */
public final class SyntheticCorpus implements Corpus {

  static final int SUCCESSORS = 16;
  private static final int TRIGRAM_BUCKETS = 8_192;
  private static final int MIN_SPAN = 8;
  private static final int MAX_SPAN = 16;

  private final int vocabSize;
  private final double zipfExponent;
  private final double follow;
  private final double repeatFraction;
  private final double[] unigramCdf;
  private final int[] bigram;
  private final int[] trigram;
  private final double[] rowCdf;
  private final int[] permutation;

  private SyntheticCorpus(
      int vocabSize, double zipfExponent, double follow, double repeatFraction, long seed) {
    if (vocabSize < 2 || vocabSize > ModelConfig.MAX_VOCAB) {
      throw new IllegalArgumentException(
          "synthetic corpus: vocabSize "
              + vocabSize
              + " outside [2, "
              + ModelConfig.MAX_VOCAB
              + "]");
    }
    if (!(zipfExponent >= 0 && zipfExponent <= 4)) {
      throw new IllegalArgumentException(
          "synthetic corpus: zipfExponent " + zipfExponent + " outside [0, 4]");
    }
    if (!(follow >= 0 && follow <= 1)) {
      throw new IllegalArgumentException("synthetic corpus: follow " + follow + " outside [0, 1]");
    }
    if (!(repeatFraction >= 0 && repeatFraction <= 1)) {
      throw new IllegalArgumentException(
          "synthetic corpus: repeatFraction " + repeatFraction + " outside [0, 1]");
    }
    this.vocabSize = vocabSize;
    this.zipfExponent = zipfExponent;
    this.follow = follow;
    this.repeatFraction = repeatFraction;
    this.unigramCdf = zipfCdf(vocabSize, zipfExponent);
    this.rowCdf = zipfCdf(SUCCESSORS, 1.0);
    Random tables = new Random(seed);
    // A random permutation decouples token id from frequency rank, so the model cannot read the
    // unigram off the id.
    int[] rankToToken = new int[vocabSize];
    for (int i = 0; i < vocabSize; i++) {
      rankToToken[i] = i;
    }
    for (int i = vocabSize - 1; i > 0; i--) {
      int j = tables.nextInt(i + 1);
      int t = rankToToken[i];
      rankToToken[i] = rankToToken[j];
      rankToToken[j] = t;
    }
    this.permutation = rankToToken;
    this.bigram = new int[vocabSize * SUCCESSORS];
    for (int i = 0; i < bigram.length; i++) {
      bigram[i] = drawUnigram(tables);
    }
    this.trigram = new int[TRIGRAM_BUCKETS * SUCCESSORS];
    for (int i = 0; i < trigram.length; i++) {
      trigram[i] = drawUnigram(tables);
    }
  }

  /**
   * The corpus of PHASES-EXPERIMENT.md: Zipf(1.1), 85 % structured steps, half the sequences
   * repeat.
   */
  public static SyntheticCorpus skewed(int vocabSize, long seed) {
    return new SyntheticCorpus(vocabSize, 1.1, 0.85, 0.5, seed);
  }

  /** Full control over skew ({@code zipfExponent = 0} is uniform), structure and repetition. */
  public static SyntheticCorpus of(
      int vocabSize, double zipfExponent, double follow, double repeatFraction, long seed) {
    return new SyntheticCorpus(vocabSize, zipfExponent, follow, repeatFraction, seed);
  }

  @Override
  public int vocabSize() {
    return vocabSize;
  }

  public double zipfExponent() {
    return zipfExponent;
  }

  @Override
  public int[] sample(Random rng, int length) {
    if (length < 1) {
      throw new IllegalArgumentException("synthetic corpus: length " + length + " < 1");
    }
    int[] out = new int[length];
    for (int i = 0; i < length; i++) {
      if (i == 0 || rng.nextDouble() >= follow) {
        out[i] = drawUnigram(rng);
      } else {
        int row;
        if (i >= 2 && rng.nextBoolean()) {
          int bucket = Math.floorMod(out[i - 2] * 1_000_003 + out[i - 1] * 7_919, TRIGRAM_BUCKETS);
          row = bucket * SUCCESSORS;
          out[i] = trigram[row + draw(rowCdf, rng)];
        } else {
          row = out[i - 1] * SUCCESSORS;
          out[i] = bigram[row + draw(rowCdf, rng)];
        }
      }
    }
    if (length >= 2 * MAX_SPAN + 2 && rng.nextDouble() < repeatFraction) {
      int span = MIN_SPAN + rng.nextInt(MAX_SPAN - MIN_SPAN + 1);
      int src = rng.nextInt(length / 2 - span + 1);
      int dst = src + span + rng.nextInt(length - 2 * span - src + 1);
      System.arraycopy(out, src, out, dst, span);
    }
    return out;
  }

  /** Probability of the token of frequency rank {@code rank} (0-based) under the unigram. */
  double unigramProbabilityOfRank(int rank) {
    return unigramCdf[rank] - (rank == 0 ? 0 : unigramCdf[rank - 1]);
  }

  int tokenOfRank(int rank) {
    return permutation[rank];
  }

  private int drawUnigram(Random rng) {
    return permutation[draw(unigramCdf, rng)];
  }

  private static int draw(double[] cdf, Random rng) {
    int i = Arrays.binarySearch(cdf, rng.nextDouble());
    int idx = i >= 0 ? i + 1 : -i - 1;
    return Math.min(idx, cdf.length - 1);
  }

  private static double[] zipfCdf(int n, double s) {
    double[] cdf = new double[n];
    double sum = 0;
    for (int i = 0; i < n; i++) {
      sum += Math.pow(i + 1, -s);
      cdf[i] = sum;
    }
    for (int i = 0; i < n; i++) {
      cdf[i] /= sum;
    }
    return cdf;
  }
}
