package io.phasewatch.agent.djl.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CheckpointNameTest {

  @Test
  void theStepComesFromTheFileNameInItsUsualSpellings() {
    assertThat(CheckpointName.parse("step=1200.pt")).contains(new CheckpointName(1200));
    assertThat(CheckpointName.parse("model-step_300.pth")).contains(new CheckpointName(300));
    assertThat(CheckpointName.parse("ckpt.step-7.ts")).contains(new CheckpointName(7));
    assertThat(CheckpointName.parse("run3_step40.pt")).contains(new CheckpointName(40));
  }

  @Test
  void filesBeingWrittenAreNotCheckpoints() {
    assertThat(CheckpointName.parse(".step=100.pt")).isEmpty();
    assertThat(CheckpointName.parse("step=100.pt.tmp")).isEmpty();
    assertThat(CheckpointName.parse("step=100.pt.part")).isEmpty();
  }

  @Test
  void aNameWithoutAStepOrWithAnotherExtensionIsNoCheckpoint() {
    assertThat(CheckpointName.parse("final.pt")).isEmpty();
    assertThat(CheckpointName.looksLikeCheckpoint("final.pt")).isTrue();
    assertThat(CheckpointName.parse("step=5.json")).isEmpty();
    assertThat(CheckpointName.parse("laststep=5.pt")).isEmpty();
  }
}
