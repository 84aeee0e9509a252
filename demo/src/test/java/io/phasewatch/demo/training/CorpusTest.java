package io.phasewatch.demo.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorpusTest {

  @Property(tries = 50)
  void syntheticSequencesAreInVocabularyAndDeterministicBySeed(
      @ForAll @IntRange(min = 2, max = 3000) int vocab,
      @ForAll @LongRange(min = 0, max = 1_000_000) long seed,
      @ForAll @IntRange(min = 1, max = 200) int length) {
    int[] a = SyntheticCorpus.skewed(vocab, seed).sample(new Random(seed), length);
    int[] b = SyntheticCorpus.skewed(vocab, seed).sample(new Random(seed), length);
    assertThat(a).hasSize(length).containsExactly(b);
    for (int t : a) {
      assertThat(t).isBetween(0, vocab - 1);
    }
  }

  @Test
  void syntheticUnigramIsZipfSkewed() {
    SyntheticCorpus corpus = SyntheticCorpus.of(512, 1.1, 0.0, 0.0, 3L);
    int[] counts = new int[512];
    Random rng = new Random(1);
    int n = 0;
    for (int i = 0; i < 400; i++) {
      for (int t : corpus.sample(rng, 250)) {
        counts[t]++;
        n++;
      }
    }
    // Zipf(1.1) over 512 ranks: p(rank 1) = 1 / Σ i^-1.1 ≈ 0.207 and p(rank 10) ≈ 0.0164.
    double h = 0;
    for (int i = 1; i <= 512; i++) {
      h += Math.pow(i, -1.1);
    }
    assertThat(counts[corpus.tokenOfRank(0)] / (double) n).isCloseTo(1 / h, within(0.01));
    assertThat(counts[corpus.tokenOfRank(9)] / (double) n)
        .isCloseTo(Math.pow(10, -1.1) / h, within(0.003));
  }

  @Test
  void syntheticStructureIsLearnableBeyondTheUnigram() {
    // Knowing the previous token must lower the entropy of the next one well below the unigram's;
    // a corpus that never follows its tables is the control (no drop beyond estimation bias).
    double structured = entropyDropGivenPrevious(SyntheticCorpus.of(32, 1.1, 0.85, 0.0, 9L));
    double control = entropyDropGivenPrevious(SyntheticCorpus.of(32, 1.1, 0.0, 0.0, 9L));
    assertThat(structured).isGreaterThan(0.1);
    assertThat(control).isLessThan(0.02);
  }

  private static double entropyDropGivenPrevious(SyntheticCorpus corpus) {
    Random rng = new Random(2);
    long[][] pairs = new long[32][32];
    for (int i = 0; i < 2000; i++) {
      int[] s = corpus.sample(rng, 64);
      for (int k = 1; k < s.length; k++) {
        pairs[s[k - 1]][s[k]]++;
      }
    }
    long[] next = new long[32];
    long n = 0;
    double conditional = 0;
    for (long[] row : pairs) {
      long rowSum = 0;
      for (int j = 0; j < 32; j++) {
        next[j] += row[j];
        rowSum += row[j];
      }
      n += rowSum;
      for (long c : row) {
        if (c > 0) {
          conditional -= c * Math.log((double) c / rowSum);
        }
      }
    }
    double unigram = 0;
    for (long c : next) {
      if (c > 0) {
        unigram -= c * Math.log((double) c / n);
      }
    }
    return (unigram - conditional) / n;
  }

  @Test
  void rejectsAVocabularyBeyondItsLimit() {
    assertThatThrownBy(() -> SyntheticCorpus.skewed(70_000, 1L))
        .hasMessageContaining("vocabSize 70000")
        .hasMessageContaining("65536");
  }

  @Test
  void textCorpusKeepsTheMostFrequentCharactersAndMapsTheRestToUnknown(@TempDir Path dir)
      throws IOException {
    Path file = dir.resolve("t.txt");
    Files.writeString(file, "aaaabbbcc€", StandardCharsets.UTF_8);
    TextCorpus corpus = TextCorpus.characters(file, 3);
    assertThat(corpus.vocabSize()).isEqualTo(3);
    assertThat(corpus.length()).isEqualTo(10);
    int[] all = corpus.sample(new Random(0), 10);
    // ids by frequency: a → 1, b → 2; c and € are unknown (0).
    assertThat(all).containsExactly(1, 1, 1, 1, 2, 2, 2, 0, 0, 0);
  }

  @Test
  void textCorpusRejectsInvalidUtf8AndTooLongSequences(@TempDir Path dir) throws IOException {
    Path bad = dir.resolve("bad.txt");
    Files.write(bad, new byte[] {'a', (byte) 0xC3, (byte) 0x28});
    assertThatThrownBy(() -> TextCorpus.characters(bad, 10))
        .hasMessageContaining("not valid UTF-8");
    Path ok = dir.resolve("ok.txt");
    Files.writeString(ok, "hello");
    TextCorpus corpus = TextCorpus.characters(ok, 10);
    assertThatThrownBy(() -> corpus.sample(new Random(0), 6))
        .hasMessageContaining("sequence length 6 outside [1, 5]");
  }

  private static org.assertj.core.data.Offset<Double> within(double d) {
    return org.assertj.core.data.Offset.offset(d);
  }
}
