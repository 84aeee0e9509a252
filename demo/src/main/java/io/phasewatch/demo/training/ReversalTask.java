package io.phasewatch.demo.training;

import io.phasewatch.agent.djl.Corpus;
import java.util.Arrays;
import java.util.Random;

/**
 * The instruction task of the post-training stages: given a span of corpus tokens, answer it
 * reversed. A sequence reads {@code PROMPT x₁…x_k RESPOND x_k…x₁ END}; the answer is checkable by
 * exact match, so the same task gives SFT its demonstrations, DPO its preference pairs (a correct
 * answer against a wrong one) and RLVR its verifiable reward.
 *
 * <p>SFT and DPO draw spans from the corpus, RLVR uniformly (see {@link #uniformExample}).
 *
 * <p>The three markers are the top three ids of the model's vocabulary; spans are drawn from the
 * pretraining corpus (a narrow slice of its structure: short runs of its bigram and trigram chains)
 * with marker ids redrawn, so a marker means only one thing.
 */
final class ReversalTask {

  /** Tries before a span that keeps drawing marker ids is given up on (never seen in practice). */
  private static final int MAX_REDRAWS = 1_000;

  private final Corpus corpus;
  private final int prompt;
  private final int respond;
  private final int end;

  /** One prompt and its correct answer. */
  record Example(int[] span) {
    Example {
      span = span.clone();
    }

    int length() {
      return span.length;
    }

    int[] answer() {
      int[] a = new int[span.length];
      for (int i = 0; i < span.length; i++) {
        a[i] = span[span.length - 1 - i];
      }
      return a;
    }
  }

  ReversalTask(Corpus corpus, int modelVocab) {
    if (modelVocab < 8) {
      throw new IllegalArgumentException(
          "reversal task: model vocabSize " + modelVocab + " < 8 leaves no room for markers");
    }
    if (corpus.vocabSize() > modelVocab) {
      throw new IllegalArgumentException(
          "reversal task: corpus vocabulary "
              + corpus.vocabSize()
              + " exceeds model vocabSize "
              + modelVocab);
    }
    this.corpus = corpus;
    this.prompt = modelVocab - 1;
    this.respond = modelVocab - 2;
    this.end = modelVocab - 3;
  }

  int promptMarker() {
    return prompt;
  }

  int respondMarker() {
    return respond;
  }

  int endMarker() {
    return end;
  }

  /** A fresh example with a span of {@code k} tokens. */
  Example example(Random rng, int k) {
    for (int attempt = 0; attempt < MAX_REDRAWS; attempt++) {
      int[] span = corpus.sample(rng, k);
      if (Arrays.stream(span).noneMatch(this::isMarker)) {
        return new Example(span);
      }
    }
    throw new IllegalStateException(
        "reversal task: corpus keeps drawing marker ids; use a model vocabulary above the corpus's");
  }

  /**
   * An example whose span is drawn uniformly from the corpus's non-marker ids: RLVR's prompts, so
   * that an answer ignoring the prompt (say, always the most frequent token) earns only chance
   * reward and the policy cannot climb by exploiting the unigram skew.
   */
  Example uniformExample(Random rng, int k) {
    int[] span = new int[k];
    for (int i = 0; i < k; i++) {
      int t;
      do {
        t = rng.nextInt(corpus.vocabSize());
      } while (isMarker(t));
      span[i] = t;
    }
    return new Example(span);
  }

  /** {@code PROMPT span RESPOND}: what the model is conditioned on. */
  int[] prompt(Example e) {
    int[] p = new int[e.length() + 2];
    p[0] = prompt;
    System.arraycopy(e.span, 0, p, 1, e.length());
    p[e.length() + 1] = respond;
    return p;
  }

  /** {@code PROMPT span RESPOND response END}. */
  int[] sequence(Example e, int[] response) {
    int[] p = prompt(e);
    int[] s = Arrays.copyOf(p, p.length + response.length + 1);
    System.arraycopy(response, 0, s, p.length, response.length);
    s[s.length - 1] = end;
    return s;
  }

  /**
   * A wrong answer of the same length for DPO's rejected side: the span not reversed (the likely
   * mistake) or, for palindromic spans and at random half the time, the correct answer with one
   * token replaced by another corpus token.
   */
  int[] wrongAnswer(Example e, Random rng) {
    int[] correct = e.answer();
    if (rng.nextBoolean() && !Arrays.equals(e.span, correct)) {
      return e.span.clone();
    }
    int[] wrong = correct.clone();
    int at = rng.nextInt(wrong.length);
    int replacement = wrong[at];
    for (int attempt = 0;
        attempt < MAX_REDRAWS && (replacement == wrong[at] || isMarker(replacement));
        attempt++) {
      replacement = corpus.sample(rng, 1)[0];
    }
    if (replacement == wrong[at]) {
      replacement = (wrong[at] + 1) % end;
    }
    wrong[at] = replacement;
    return wrong;
  }

  boolean isCorrect(Example e, int[] response) {
    return Arrays.equals(e.answer(), response);
  }

  private boolean isMarker(int token) {
    return token == prompt || token == respond || token == end;
  }
}
