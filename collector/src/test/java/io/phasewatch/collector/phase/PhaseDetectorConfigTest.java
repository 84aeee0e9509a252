package io.phasewatch.collector.phase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.phasewatch.core.wire.Stage;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PhaseDetectorConfigTest {

  private static final PhaseDetectorConfig D = PhaseDetectorConfig.defaults();

  /** A configuration with the defaults' values except the four that the tests vary. */
  private static PhaseDetectorConfig config(
      double binLogSteps,
      double horizonLogSteps,
      int minPoints,
      double exitTrend,
      Map<Stage, Long> warmupSteps) {
    return new PhaseDetectorConfig(
        binLogSteps,
        horizonLogSteps,
        minPoints,
        0.10,
        exitTrend,
        6.0,
        2.0,
        3.0,
        3.0,
        0.1,
        0.15,
        0.01,
        0.05,
        0.35,
        warmupSteps);
  }

  @Test
  void defaultsGiveAWarmupOnlyToPretraining() {
    assertThat(D.warmupSteps(Stage.PRETRAIN)).isEqualTo(2_000);
    for (Stage s : new Stage[] {Stage.SFT, Stage.DPO, Stage.RLVR, Stage.OTHER}) {
      assertThat(D.warmupSteps(s)).isZero();
    }
  }

  @Test
  void defaultsHaveNoAlphaVetoAndOneCanBeSet() {
    assertThat(D.alphaVetoTrend()).isEqualTo(Double.POSITIVE_INFINITY);
    assertThat(D.withAlphaVeto(0.05).alphaVetoTrend()).isEqualTo(0.05);
    assertThatThrownBy(() -> D.withAlphaVeto(0.0)).hasMessageContaining("alphaVetoTrend 0.0");
  }

  @Test
  void anExitTrendAboveTheEnterTrendIsRejectedByName() {
    assertThatThrownBy(() -> config(0.04, 4.0, 4, 0.20, D.warmupSteps()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("exitTrend 0.2");
  }

  @Test
  void aHorizonOfTooManyBinsIsRejected() {
    assertThatThrownBy(() -> config(0.001, 10.0, 4, 0.05, D.warmupSteps()))
        .hasMessageContaining("exceeds 4096 bins");
  }

  @Test
  void tooFewMinPointsIsRejectedByName() {
    assertThatThrownBy(() -> config(0.04, 4.0, 2, 0.05, D.warmupSteps()))
        .hasMessageContaining("minPoints 2 outside [3, 10000]");
  }

  @Test
  void aNegativeWarmupIsRejectedWithItsStage() {
    assertThatThrownBy(() -> D.withWarmupSteps(Stage.DPO, -1))
        .hasMessageContaining("warmupSteps.dpo -1");
  }

  @Test
  void theWarmupMapIsCopiedAndCompleted() {
    Map<Stage, Long> m = new HashMap<>();
    m.put(Stage.SFT, 100L);
    PhaseDetectorConfig c = config(0.04, 4.0, 4, 0.05, m);
    m.put(Stage.SFT, 5L);
    assertThat(c.warmupSteps(Stage.SFT)).isEqualTo(100);
    assertThat(c.warmupSteps(Stage.PRETRAIN)).isZero();
    assertThat(c.warmupSteps()).hasSize(Stage.values().length);
  }
}
