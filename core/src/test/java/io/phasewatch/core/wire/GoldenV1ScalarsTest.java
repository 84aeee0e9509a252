package io.phasewatch.core.wire;

import static org.assertj.core.api.Assertions.assertThat;

import io.phasewatch.core.sketch.ExactSnapshot;
import io.phasewatch.core.sketch.FdSnapshot;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The scalars section (flag bit 0) of v1: files written by golden/v1/make_golden_scalars.py from
 * the spec, not by the Java encoder. The files of the first v1 release still decode, with no
 * scalars ({@link GoldenV1Test} checks the rest of their values).
 */
class GoldenV1ScalarsTest {

  private static SnapshotRecord fdWithScalars() {
    return new SnapshotRecord(
        new SnapshotMetadata(
            "r1", Stage.PRETRAIN, 0, 1, "h.11", 100, 3, 409_600, 1_764_460_800_123L, 0),
        new FdSnapshot(
            4,
            10,
            new double[] {0.1, 0.2, 0.3},
            new double[] {1.0, 2.0, 3.0, 0.5, -0.5, 0.25},
            20.5,
            1.5,
            0),
        new TrainingScalars(
            Map.of(
                "loss", new TrainingScalars.Scalar(50, 2.75),
                "learning_rate", new TrainingScalars.Scalar(1, 0.001),
                "heldout.accuracy", new TrainingScalars.Scalar(1, 0.625))));
  }

  private static SnapshotRecord exactWithLoss() {
    return new SnapshotRecord(
        new SnapshotMetadata(
            "golden-run-é",
            Stage.SFT,
            1,
            4,
            "blocks.0.mlp",
            1200,
            12,
            4_915_200,
            1_764_460_800_000L,
            7),
        new ExactSnapshot(
            5,
            new double[] {0.5, -1.25, 3.0},
            new double[] {4.0, 1.0, 0.5, 1.0, 9.0, -2.0, 0.5, -2.0, 16.0},
            2),
        new TrainingScalars(Map.of("loss", new TrainingScalars.Scalar(0xFFFF_FFFFL, -0.5))));
  }

  @Test
  void goldenFdSnapshotWithScalarsDecodesToItsValues() throws WireFormatException {
    SnapshotRecord r = GoldenV1Test.decodeWhole("fd_l4_d3_scalars.bin");
    assertThat(r.scalars().values().keySet())
        .containsExactly("heldout.accuracy", "learning_rate", "loss");
    assertThat(r.scalars().values().get("loss")).isEqualTo(new TrainingScalars.Scalar(50, 2.75));
    assertThat(r.scalars().values().get("learning_rate"))
        .isEqualTo(new TrainingScalars.Scalar(1, 0.001));
    assertThat(r.scalars().values().get("heldout.accuracy"))
        .isEqualTo(new TrainingScalars.Scalar(1, 0.625));
    FdSnapshot s = (FdSnapshot) r.snapshot();
    assertThat(s.rows()).containsExactly(1.0, 2.0, 3.0, 0.5, -0.5, 0.25);
    assertThat(r).isEqualTo(fdWithScalars());
  }

  @Test
  void goldenExactSummaryWithTheLargestLossWeightDecodesToItsValues() throws WireFormatException {
    SnapshotRecord r = GoldenV1Test.decodeWhole("exact_d3_scalars.bin");
    assertThat(r.scalars().values())
        .containsExactly(Map.entry("loss", new TrainingScalars.Scalar(4_294_967_295L, -0.5)));
    assertThat(r).isEqualTo(exactWithLoss());
  }

  @Test
  void encoderWritesTheGoldenScalarsBytes() {
    assertThat(SnapshotCodec.encode(fdWithScalars(), SnapshotCodec.DEFAULT_MAX_RECORD_BYTES))
        .singleElement()
        .isEqualTo(GoldenV1Test.golden("fd_l4_d3_scalars.bin"));
    assertThat(SnapshotCodec.encode(exactWithLoss(), SnapshotCodec.DEFAULT_MAX_RECORD_BYTES))
        .singleElement()
        .isEqualTo(GoldenV1Test.golden("exact_d3_scalars.bin"));
  }

  @Test
  void filesOfTheFirstV1ReleaseDecodeWithoutScalars() throws WireFormatException {
    for (String name : List.of("exact_d3.bin", "fd_l4_d3.bin")) {
      assertThat(GoldenV1Test.decodeWhole(name).scalars().isEmpty()).as(name).isTrue();
    }
  }

  @Test
  void aRecordWithoutScalarsEncodesWithFlagsZeroAsBefore() {
    SnapshotRecord plain =
        new SnapshotRecord(fdWithScalars().metadata(), fdWithScalars().snapshot());
    assertThat(SnapshotCodec.encode(plain, SnapshotCodec.DEFAULT_MAX_RECORD_BYTES))
        .singleElement()
        .isEqualTo(GoldenV1Test.golden("fd_l4_d3.bin"));
  }
}
