package io.phasewatch.agent.djl;

import java.util.Random;

/**
 * A source of token sequences for training and probing. Generated or read locally, never fetched.
 */
public interface Corpus {

  /** Token ids are in {@code [0, vocabSize())}. */
  int vocabSize();

  /**
   * A fresh sequence of {@code length} tokens drawn with {@code rng}; deterministic given its
   * state.
   */
  int[] sample(Random rng, int length);
}
