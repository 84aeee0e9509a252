package io.phasewatch.demo.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.phasewatch.agent.djl.ProbeSet;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ModularAdditionTest {

  @Test
  void splitsAllPairsIntoDisjointTrainingAndHeldOutSharesOfTheRequestedSize() {
    ModularAddition task = ModularAddition.of(59, 0.5, 0, 42);
    Set<List<Integer>> train = asSet(task.trainPairs());
    Set<List<Integer>> heldOut = asSet(task.heldOutPairs());
    assertThat(train).hasSize(1741); // round(0.5 · 3481)
    assertThat(heldOut).hasSize(3481 - 1741);
    assertThat(train).doesNotContainAnyElementsOf(heldOut);
    Set<List<Integer>> all = new HashSet<>(train);
    all.addAll(heldOut);
    for (int a = 0; a < 59; a++) {
      for (int b = 0; b < 59; b++) {
        assertThat(all).contains(List.of(a, b));
      }
    }
  }

  @Test
  void theSplitDependsOnlyOnTheSeed() {
    assertThat(ModularAddition.of(13, 0.3, 0, 7).trainPairs())
        .isDeepEqualTo(ModularAddition.of(13, 0.3, 0, 7).trainPairs());
    assertThat(asSet(ModularAddition.of(13, 0.3, 0, 7).trainPairs()))
        .isNotEqualTo(asSet(ModularAddition.of(13, 0.3, 0, 8).trainPairs()));
  }

  @Test
  void answersAreTheSumModP() {
    ModularAddition task = ModularAddition.of(59, 0.5, 0, 1);
    assertThat(task.answer(30, 40)).isEqualTo(11);
    assertThat(task.answer(58, 1)).isZero();
    assertThat(task.answer(0, 0)).isZero();
    assertThat(task.answer(58, 58)).isEqualTo(57);
    assertThat(task.sequence(3, 4)).containsExactly(3, 4, 59);
    assertThat(task.vocabSize()).isEqualTo(60);
  }

  @Test
  void trainingDrawsComeOnlyFromTheTrainingShare() {
    ModularAddition task = ModularAddition.of(11, 0.4, 1.0, 3);
    Set<List<Integer>> train = asSet(task.trainPairs());
    Random rng = new Random(5);
    for (int i = 0; i < 2_000; i++) {
      int[] p = task.draw(rng);
      assertThat(train).contains(List.of(p[0], p[1]));
    }
  }

  @Test
  void operandSkewFollowsZipfOverTheFirstOperand() {
    ModularAddition task = ModularAddition.of(23, 0.5, 1.5, 9);
    // Expected share of a = 0: its training pairs weighted by 1^-1.5 over all pairs' weights.
    double total = 0;
    double zero = 0;
    for (int[] p : task.trainPairs()) {
      double w = Math.pow(p[0] + 1, -1.5);
      total += w;
      zero += p[0] == 0 ? w : 0;
    }
    Random rng = new Random(11);
    int n = 200_000;
    int hits = 0;
    for (int i = 0; i < n; i++) {
      hits += task.draw(rng)[0] == 0 ? 1 : 0;
    }
    assertThat((double) hits / n).isCloseTo(zero / total, within(0.005));
    assertThat(zero / total).isGreaterThan(0.2); // far from uniform (1/23)
  }

  @Test
  void accuracyReadsTheArgMaxAtTheLastPositionOnly() {
    ModularAddition task = ModularAddition.of(5, 0.5, 0, 1);
    int[][] pairs = {{1, 2}, {4, 4}, {0, 3}, {2, 2}};
    int v = task.vocabSize();
    float[] logits = new float[pairs.length * 3 * v];
    // Right answers (3, 3, 3, 4) at the last position of the first three, a wrong one (0) for the
    // fourth; the first two positions carry large decoys that must be ignored.
    int[] predicted = {3, 3, 3, 0};
    for (int i = 0; i < pairs.length; i++) {
      logits[(i * 3) * v + (predicted[i] + 1) % v] = 100f;
      logits[(i * 3 + 1) * v + (predicted[i] + 2) % v] = 100f;
      logits[(i * 3 + 2) * v + predicted[i]] = 1f;
    }
    assertThat(task.accuracy(pairs, logits)).isEqualTo(0.75);
  }

  @Test
  void accuracyRejectsLogitsOfTheWrongSize() {
    ModularAddition task = ModularAddition.of(5, 0.5, 0, 1);
    assertThatThrownBy(() -> task.accuracy(new int[][] {{1, 2}}, new float[5]))
        .hasMessageContaining("5 logits for 1 pairs of 3 tokens over 6");
  }

  @Test
  void probeIsAFixedSetOfDistinctPairsReadAtTheAnswerPosition() {
    ModularAddition task = ModularAddition.of(17, 0.5, 0, 1);
    ProbeSet probe = task.probe(100, 77);
    assertThat(probe.size()).isEqualTo(100);
    assertThat(probe.length()).isEqualTo(3);
    Set<List<Integer>> seen = new HashSet<>();
    for (int i = 0; i < probe.size(); i++) {
      int[] s = probe.sequence(i);
      assertThat(s[2]).isEqualTo(17);
      assertThat(probe.lastIndex(i)).isEqualTo(2);
      seen.add(List.of(s[0], s[1]));
    }
    assertThat(seen).hasSize(100);
    assertThat(Arrays.deepEquals(seqs(task.probe(100, 77)), seqs(probe))).isTrue();
  }

  @Test
  void rejectsSettingsThatLeaveNothingToTrainOrHoldOut() {
    assertThatThrownBy(() -> ModularAddition.of(1, 0.5, 0, 1)).hasMessageContaining("p 1");
    assertThatThrownBy(() -> ModularAddition.of(5, 1.0, 0, 1))
        .hasMessageContaining("train fraction 1.0");
    assertThatThrownBy(() -> ModularAddition.of(3, 0.01, 0, 1))
        .hasMessageContaining("leaves one side empty");
    assertThatThrownBy(() -> ModularAddition.of(5, 0.5, -1, 1)).hasMessageContaining("skew -1");
    assertThatThrownBy(() -> ModularAddition.of(5, 0.5, 0, 1).probe(26, 1))
        .hasMessageContaining("probe of 26 pairs");
  }

  private static int[][] seqs(ProbeSet p) {
    int[][] out = new int[p.size()][];
    for (int i = 0; i < p.size(); i++) {
      out[i] = p.sequence(i);
    }
    return out;
  }

  private static Set<List<Integer>> asSet(int[][] pairs) {
    Set<List<Integer>> s = new HashSet<>();
    for (int[] p : pairs) {
      s.add(List.of(p[0], p[1]));
    }
    return s;
  }
}
