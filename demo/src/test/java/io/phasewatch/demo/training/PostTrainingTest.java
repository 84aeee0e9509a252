package io.phasewatch.demo.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.nn.Parameter;
import io.phasewatch.agent.djl.LayerTaps;
import io.phasewatch.agent.djl.PhasewatchTrainingListener;
import io.phasewatch.agent.djl.ProbeSet;
import io.phasewatch.agent.djl.RecordingSink;
import io.phasewatch.core.wire.Stage;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The post-training stages on the real PyTorch engine, with a model small enough for seconds. */
class PostTrainingTest {

  static final ModelConfig SMALL =
      new ModelConfig(
          32, 32, 2, 2, 16, 8, 1e-2f, 5, ModelConfig.Schedule.CONSTANT, 0.0f, 11L, 100, 0.999f);

  /** Spans of 1–3 tokens, RLVR copies single tokens; learning rates for a model this small. */
  static final PostTrainingConfig TASK =
      new PostTrainingConfig(
          60, 40, 80, 16, 5e-3f, 2e-3f, 3e-3f, 1, 3, 1, true, 0.5f, 8, 1.0f, 0f, 64, 8, 5L);

  /** Corpus ids 0…28: the three marker ids 29, 30, 31 never occur in a span. */
  static final SyntheticCorpus CORPUS = SyntheticCorpus.skewed(29, 11L);

  @Test
  void sftLowersTheResponseLossAndCountsOnlyResponseTokens() {
    try (LanguageModelTraining pre =
        LanguageModelTraining.start(TinyLanguageModel.create(SMALL), CORPUS)) {
      pre.train(10);
      ReversalTask task = new ReversalTask(CORPUS, SMALL.vocabSize());
      Evaluation eval = new Evaluation(task, CORPUS, TASK, SMALL.contextLength());
      double before = eval.measure(pre.model()).get("in_distribution_loss");
      double firstSteps = 0;
      double lastSteps = 0;
      try (SftStage sft = new SftStage(pre.model(), task, TASK)) {
        for (int i = 0; i < 60; i++) {
          float loss = sft.step();
          if (i < 3) {
            firstSteps += loss / 3;
          } else if (i >= 57) {
            lastSteps += loss / 3;
          }
        }
      }
      double after = eval.measure(pre.model()).get("in_distribution_loss");
      assertThat(lastSteps).isLessThan(firstSteps - 0.5);
      assertThat(after).isLessThan(before - 0.5);
    }
  }

  @Test
  void responseMaskCoversTheReversedSpanAndTheEndMarkerOnly() {
    // P x1 x2 R y1 y2 E: tokens 4, 5, 6 are the response; target j is token j + 1.
    assertThat(SftStage.responseMask(2, 6)).containsExactly(0f, 0f, 0f, 1f, 1f, 1f);
    assertThat(SftStage.responseMask(1, 6)).containsExactly(0f, 0f, 1f, 1f, 0f, 0f);
  }

  @Test
  void dpoStartsAtLnTwoFallsOnItsPairsAndLeavesTheReferenceBitIdentical() {
    try (LanguageModelTraining pre =
        LanguageModelTraining.start(TinyLanguageModel.create(SMALL), CORPUS)) {
      pre.train(10);
      ReversalTask task = new ReversalTask(CORPUS, SMALL.vocabSize());
      DpoStage.Pairs pairs = DpoStage.pairs(task, TASK, new Random(3), 16);
      float[] policyBefore = firstParameter(pre.model());
      try (DpoStage dpo = new DpoStage(pre.model(), task, TASK)) {
        float[][] referenceBefore = dpo.reference().parameterValues();
        // Policy and reference are equal at the start: every margin is 0, the loss −log σ(0).
        float first = dpo.step(pairs);
        assertThat((double) first).isCloseTo(Math.log(2), within(1e-4));
        assertThat(dpo.lastMargin()).isCloseTo(0.0, within(1e-4));
        float last = first;
        for (int i = 0; i < 40; i++) {
          last = dpo.step(pairs);
        }
        assertThat((double) last).isLessThan(0.4);
        assertThat(dpo.lastMargin()).isGreaterThan(1.0);
        assertThat(dpo.lastAccuracy()).isEqualTo(1.0);
        float[][] referenceAfter = dpo.reference().parameterValues();
        assertThat(referenceAfter.length).isEqualTo(referenceBefore.length);
        for (int i = 0; i < referenceBefore.length; i++) {
          assertThat(referenceAfter[i])
              .as("reference parameter %d", i)
              .isEqualTo(referenceBefore[i]);
        }
        assertThat(dpo.reference().unchanged()).isTrue();
      }
      assertThat(firstParameter(pre.model())).isNotEqualTo(policyBefore);
    }
  }

  @Test
  void rlvrRaisesTheRewardOnItsTask() {
    try (LanguageModelTraining pre =
        LanguageModelTraining.start(TinyLanguageModel.create(SMALL), CORPUS)) {
      pre.train(10);
      ReversalTask task = new ReversalTask(CORPUS, SMALL.vocabSize());
      Evaluation eval = new Evaluation(task, CORPUS, TASK, SMALL.contextLength());
      double before = eval.measure(pre.model()).get("pass@1");
      double firstSteps = 0;
      double lastSteps = 0;
      try (RlvrStage rlvr = new RlvrStage(pre.model(), task, TASK)) {
        for (int i = 0; i < 80; i++) {
          rlvr.step();
          if (i < 10) {
            firstSteps += rlvr.lastReward() / 10;
          } else if (i >= 70) {
            lastSteps += rlvr.lastReward() / 10;
          }
        }
      }
      double after = eval.measure(pre.model()).get("pass@1");
      // Uniform prompts over 29 ids: a policy that ignores the prompt stays near 1/29.
      assertThat(firstSteps).isLessThan(0.1);
      assertThat(lastSteps).isGreaterThan(firstSteps + 0.2);
      assertThat(after).isGreaterThan(before + 0.2);
    }
  }

  @Test
  void stagesAreAnnouncedAtTheirFirstStepAndTheStepCountCarriesOn() {
    List<String> stages = new ArrayList<>();
    RecordingSink sink =
        new RecordingSink() {
          @Override
          public void stageChanged(Stage stage, long step) {
            stages.add(stage.label() + "@" + step);
          }
        };
    LayerTaps taps = LayerTaps.of(sink, 1L, List.of(LayerTaps.Tap.probe("final_norm", 2)));
    TinyLanguageModel model = TinyLanguageModel.create(SMALL, taps);
    ProbeSet probe = ProbeSet.fromCorpus(CORPUS, 16, 8, 16, 99L);
    PhasewatchTrainingListener listener =
        PhasewatchTrainingListener.builder(sink)
            .taps(taps)
            .probe(model, probe)
            .stretchCadence(false)
            .build();
    try (LanguageModelTraining pre = LanguageModelTraining.start(model, CORPUS, listener)) {
      pre.train(5);
      List<PostTraining.StageReport> reports =
          PostTraining.run(
              pre,
              CORPUS,
              List.of(Stage.SFT, Stage.DPO, Stage.RLVR),
              // With the KL penalty on, RLVR too runs against a frozen reference.
              new PostTrainingConfig(
                  3, 2, 2, 8, 5e-3f, 2e-3f, 3e-3f, 1, 3, 2, false, 0.5f, 4, 1.0f, 0.04f, 16, 4, 5L),
              sink,
              null,
              listener);
      assertThat(stages).containsExactly("sft@6", "dpo@9", "rlvr@11");
      assertThat(reports)
          .extracting(
              PostTraining.StageReport::stage,
              PostTraining.StageReport::firstStep,
              PostTraining.StageReport::lastStep)
          .containsExactly(
              org.assertj.core.groups.Tuple.tuple(Stage.SFT, 6L, 8L),
              org.assertj.core.groups.Tuple.tuple(Stage.DPO, 9L, 10L),
              org.assertj.core.groups.Tuple.tuple(Stage.RLVR, 11L, 12L));
    }
    assertThat(sink.steps)
        .extracting(RecordingSink.Step::step)
        .containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L);
    assertThat(sink.steps).allSatisfy(s -> assertThat(s.loss()).isFinite());
    // The probe keeps running through the stages, every second step.
    assertThat(sink.of("final_norm"))
        .extracting(RecordingSink.Rows::step)
        .containsExactly(2L, 4L, 6L, 8L, 10L, 12L);
  }

  @Test
  void theDemoRunsPostTrainingThroughItsDjlFreeSurface() throws Exception {
    List<String> stages = new ArrayList<>();
    RecordingSink sink =
        new RecordingSink() {
          @Override
          public void stageChanged(Stage stage, long step) {
            stages.add(stage.label() + "@" + step);
          }
        };
    DemoTraining.Settings settings =
        new DemoTraining.Settings(
            SMALL,
            new DemoTraining.Workload.Language(null),
            List.of("final_norm"),
            4,
            48,
            1.0,
            0,
            1);
    List<PostTraining.StageReport> seen = new ArrayList<>();
    try (DemoTraining demo = DemoTraining.start(settings, sink)) {
      for (int i = 0; i < 4; i++) {
        demo.step();
      }
      List<PostTraining.StageReport> reports =
          demo.postTrain(List.of(Stage.SFT, Stage.RLVR), TASK.withSteps(4, 0, 4), seen::add);
      assertThat(reports).isEqualTo(seen);
      assertThat(demo.probesRun()).isEqualTo(3);
    }
    assertThat(stages).containsExactly("sft@5", "rlvr@9");
    assertThat(sink.of("final_norm"))
        .extracting(RecordingSink.Rows::step)
        .containsExactly(4L, 8L, 12L);
  }

  @Test
  void stagesMustBeDistinctPostTrainingStagesInOrder() {
    assertThat(PostTraining.parseStages("sft, dpo,rlvr"))
        .containsExactly(Stage.SFT, Stage.DPO, Stage.RLVR);
    assertThat(PostTraining.parseStages("rlvr")).containsExactly(Stage.RLVR);
    assertThatThrownBy(() -> PostTraining.parseStages("dpo,sft"))
        .hasMessageContaining("in the order sft, dpo, rlvr");
    assertThatThrownBy(() -> PostTraining.parseStages("sft,sft")).hasMessageContaining("distinct");
    assertThatThrownBy(() -> PostTraining.parseStages("pretrain"))
        .hasMessageContaining("not one of sft, dpo, rlvr");
    assertThatThrownBy(() -> PostTraining.parseStages("ppo")).hasMessageContaining("unknown stage");
  }

  @Test
  void configErrorsNameTheFieldAndItsLimit() {
    assertThatThrownBy(() -> PostTrainingConfig.demoDefaults().withSteps(-1, 0, 0))
        .hasMessage("post-training config: sftSteps -1 outside [0, 1000000]");
    assertThatThrownBy(
            () ->
                new PostTrainingConfig(
                    1, 1, 1, 1024, 1e-3f, 1e-3f, 1e-3f, 1, 2, 1, false, 0.1f, 32, 1f, 0f, 8, 8, 1L))
        .hasMessageContaining("batchSize × groupSize 32768 exceeds 16384");
    assertThatThrownBy(
            () ->
                new PostTrainingConfig(
                    1, 1, 1, 8, 1e-3f, 1e-3f, 1e-3f, 4, 2, 1, false, 0.1f, 8, 1f, 0f, 8, 8, 1L))
        .hasMessage("post-training config: maxSpan 2 outside [4, 4096]");
  }

  @Test
  void groupAdvantagesAreRewardsStandardisedWithinTheirGroup() {
    float[] a = RlvrStage.groupAdvantages(new float[] {1, 0, 0, 0, 1, 1, 1, 1}, 4);
    // Group 1: mean 1/4, population s.d. √(3/16); group 2 agrees, so no signal.
    double sd = Math.sqrt(3.0 / 16);
    assertThat((double) a[0]).isCloseTo(0.75 / (sd + 1e-4), within(1e-5));
    assertThat((double) a[1]).isCloseTo(-0.25 / (sd + 1e-4), within(1e-5));
    assertThat(new float[] {a[4], a[5], a[6], a[7]}).containsOnly(0f);
  }

  @Test
  void passAtKIsTheUnbiasedEstimator() {
    assertThat(Evaluation.passAtK(4, 1, 1)).isCloseTo(0.25, within(1e-12));
    assertThat(Evaluation.passAtK(4, 1, 4)).isEqualTo(1.0);
    assertThat(Evaluation.passAtK(16, 0, 4)).isEqualTo(0.0);
    // 1 − C(14, 2)/C(16, 2) = 1 − 91/120.
    assertThat(Evaluation.passAtK(16, 2, 2)).isCloseTo(29.0 / 120, within(1e-12));
  }

  @Test
  void referenceCopyStartsEqualToThePolicyAndIgnoresLaterPolicyUpdates() {
    try (LanguageModelTraining pre =
        LanguageModelTraining.start(TinyLanguageModel.create(SMALL), CORPUS)) {
      pre.train(3);
      try (ReferenceModel ref = ReferenceModel.copyOf(pre.model())) {
        float[][] copied = ref.parameterValues();
        List<Parameter> policy = pre.model().getParameters().values();
        for (int i = 0; i < copied.length; i++) {
          assertThat(copied[i]).isEqualTo(policy.get(i).getArray().toFloatArray());
        }
        pre.train(3);
        assertThat(ref.parameterValues()[0]).isEqualTo(copied[0]);
        assertThat(policy.get(0).getArray().toFloatArray()).isNotEqualTo(copied[0]);
        assertThat(ref.unchanged()).isTrue();
      }
    }
  }

  @Test
  void samplingFollowsTheTemperedSoftmaxOfTheLastPosition() {
    try (LanguageModelTraining pre =
        LanguageModelTraining.start(TinyLanguageModel.create(SMALL), CORPUS)) {
      pre.train(20);
      int[] prompt = {3, 1, 4, 1, 5};
      float[] logits = pre.logits(new int[][] {prompt});
      int v = SMALL.vocabSize();
      double[] p = new double[v];
      double max = Double.NEGATIVE_INFINITY;
      int argmax = 0;
      for (int j = 0; j < v; j++) {
        double l = logits[(prompt.length - 1) * v + j];
        if (l > max) {
          max = l;
          argmax = j;
        }
      }
      double z = 0;
      for (int j = 0; j < v; j++) {
        p[j] = Math.exp(logits[(prompt.length - 1) * v + j] - max);
        z += p[j];
      }
      int n = 4_000;
      int[][] prompts = new int[n][];
      java.util.Arrays.fill(prompts, prompt);
      int[][] drawn = Sampler.sample(pre.model(), prompts, 1, 1.0f, new Random(1));
      int[] count = new int[v];
      for (int[] s : drawn) {
        assertThat(java.util.Arrays.copyOf(s, prompt.length)).isEqualTo(prompt);
        count[s[prompt.length]]++;
      }
      for (int j = 0; j < v; j++) {
        double q = p[j] / z;
        double sd = Math.sqrt(q * (1 - q) / n);
        assertThat((double) count[j] / n).as("token %d", j).isCloseTo(q, within(4 * sd + 1e-3));
      }
      // Near-zero temperature: always the most likely token.
      int[][] cold =
          Sampler.sample(pre.model(), new int[][] {prompt, prompt}, 1, 1e-3f, new Random(2));
      assertThat(cold[0][prompt.length]).isEqualTo(argmax);
      assertThat(cold[1][prompt.length]).isEqualTo(argmax);
    }
  }

  private static float[] firstParameter(TinyLanguageModel model) {
    return model.getParameters().valueAt(0).getArray().toFloatArray();
  }
}
