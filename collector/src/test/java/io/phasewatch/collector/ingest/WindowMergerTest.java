package io.phasewatch.collector.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.phasewatch.core.sketch.ExactSnapshot;
import io.phasewatch.core.wire.SnapshotMetadata;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.Stage;
import java.util.List;
import org.junit.jupiter.api.Test;

class WindowMergerTest {

  private static final int D = 4;
  private static final long TIMEOUT = 1_000;

  private static SnapshotRecord part(String run, String layer, int rank, int world, long window) {
    return new SnapshotRecord(
        new SnapshotMetadata(run, Stage.PRETRAIN, rank, world, layer, 10 * window, window, 0, 0, 0),
        new ExactSnapshot(5, new double[D], new double[D * D], 0));
  }

  private static WindowMerger merger() {
    return WindowMerger.bounded(TIMEOUT, 2, 2, 4, 1L << 20, 8);
  }

  @Test
  void windowClosesCompleteWhenAllRanksArrived() {
    WindowMerger m = merger();
    WindowMerger.Offer first = m.offer(part("r", "l", 1, 2, 0), 0, 100);
    assertThat(first.admission()).isEqualTo(Admission.ACCEPTED);
    assertThat(first.closed()).isEmpty();
    WindowMerger.Offer second = m.offer(part("r", "l", 0, 2, 0), 0, 150);
    assertThat(second.closed()).hasSize(1);
    MergedWindow w = second.closed().get(0);
    assertThat(w.complete()).isTrue();
    assertThat(w.parts()).extracting(p -> p.metadata().rank()).containsExactly(0, 1);
    assertThat(w.waitMillis()).isEqualTo(50);
  }

  @Test
  void aMergedWindowCarriesTheMetadataOfItsPartWithTheHighestStep() {
    // Ranks of one window may report different steps (one rank ahead by a step at the boundary);
    // the window is labelled by the latest.
    WindowMerger m = merger();
    SnapshotRecord behind = part("r", "l", 0, 2, 3);
    SnapshotRecord ahead =
        new SnapshotRecord(
            new SnapshotMetadata("r", Stage.SFT, 1, 2, "l", 31, 3, 0, 0, 0), behind.snapshot());
    m.offer(ahead, 0, 100);
    MergedWindow w = m.offer(behind, 0, 110).closed().get(0);
    assertThat(w.latestPart().metadata().step()).isEqualTo(31);
    assertThat(w.latestPart().metadata().stage()).isEqualTo(Stage.SFT);
    assertThat(w.parts()).extracting(p -> p.metadata().rank()).containsExactly(0, 1);
  }

  @Test
  void aResentSnapshotIsADuplicateWhileItsWindowIsRememberedAndLateAfter() {
    WindowMerger m = WindowMerger.bounded(TIMEOUT, 2, 2, 4, 1L << 20, 2);
    for (long w = 0; w < 4; w++) {
      m.offer(part("r", "l", 0, 1, w), 0, 100 + w);
    }
    // Windows 2 and 3 are remembered (2 of them), 0 and 1 are not.
    assertThat(m.offer(part("r", "l", 0, 1, 3), 0, 200).admission()).isEqualTo(Admission.DUPLICATE);
    assertThat(m.offer(part("r", "l", 0, 1, 0), 0, 200).admission()).isEqualTo(Admission.LATE);
  }

  @Test
  void sameRankTwiceCountsOnceBeforeAndAfterTheMerge() {
    WindowMerger m = merger();
    m.offer(part("r", "l", 0, 2, 0), 0, 100);
    assertThat(m.offer(part("r", "l", 0, 2, 0), 0, 110).admission()).isEqualTo(Admission.DUPLICATE);
    assertThat(m.offer(part("r", "l", 1, 2, 0), 0, 120).closed()).hasSize(1);
    assertThat(m.offer(part("r", "l", 1, 2, 0), 0, 130).admission()).isEqualTo(Admission.DUPLICATE);
  }

  @Test
  void windowClosesPartialOnceRecordTimePassesTheTimeout() {
    WindowMerger m = merger();
    m.offer(part("r", "l", 0, 3, 0), 0, 100);
    m.offer(part("r", "l", 2, 3, 0), 0, 200);
    assertThat(m.expire(p -> 100 + TIMEOUT - 1)).isEmpty();
    List<MergedWindow> closed = m.expire(p -> 100 + TIMEOUT);
    assertThat(closed).hasSize(1);
    assertThat(closed.get(0).complete()).isFalse();
    assertThat(closed.get(0).parts()).hasSize(2);
    assertThat(closed.get(0).waitMillis()).isEqualTo(TIMEOUT);
    assertThat(m.offer(part("r", "l", 1, 3, 0), 0, 1_200).admission()).isEqualTo(Admission.LATE);
  }

  @Test
  void expiryUsesTheTimeOfTheLayersOwnPartition() {
    WindowMerger m = merger();
    m.offer(part("r", "a", 0, 2, 0), 0, 100);
    m.offer(part("r", "b", 0, 2, 0), 1, 100);
    List<MergedWindow> closed = m.expire(p -> p == 1 ? 5_000 : 200);
    assertThat(closed).extracting(MergedWindow::layer).containsExactly("b");
  }

  @Test
  void completingALaterWindowClosesOlderPendingWindowsFirstAsPartial() {
    WindowMerger m = merger();
    m.offer(part("r", "l", 0, 2, 0), 0, 100);
    m.offer(part("r", "l", 0, 2, 1), 0, 110);
    List<MergedWindow> closed = m.offer(part("r", "l", 1, 2, 1), 0, 120).closed();
    assertThat(closed).extracting(MergedWindow::windowId).containsExactly(0L, 1L);
    assertThat(closed).extracting(MergedWindow::complete).containsExactly(false, true);
  }

  @Test
  void runsAndLayersBeyondTheLimitsAreRejectedAndHeldStateStays() {
    WindowMerger m = merger();
    assertThat(m.offer(part("r1", "a", 0, 2, 0), 0, 1).admission()).isEqualTo(Admission.ACCEPTED);
    assertThat(m.offer(part("r1", "b", 0, 2, 0), 0, 1).admission()).isEqualTo(Admission.ACCEPTED);
    assertThat(m.offer(part("r1", "c", 0, 2, 0), 0, 1).admission())
        .isEqualTo(Admission.LIMIT_LAYERS);
    assertThat(m.offer(part("r2", "a", 0, 2, 0), 0, 1).admission()).isEqualTo(Admission.ACCEPTED);
    assertThat(m.offer(part("r3", "a", 0, 2, 0), 0, 1).admission()).isEqualTo(Admission.LIMIT_RUNS);
    assertThat(m.liveRuns()).isEqualTo(2);
    assertThat(m.offer(part("r1", "a", 1, 2, 0), 0, 2).closed()).hasSize(1);
  }

  @Test
  void releasingAPartitionForgetsItsLayersSoTheirRecordsReadAgainAreNeitherLateNorDuplicates() {
    WindowMerger m = merger();
    m.offer(part("r", "moved", 0, 2, 0), 1, 100);
    m.offer(part("r", "moved", 1, 2, 0), 1, 110);
    m.offer(part("r", "moved", 0, 2, 1), 1, 120);
    m.offer(part("r", "kept", 0, 2, 0), 0, 100);
    long keptBytes = m.pendingBytes();
    assertThat(m.release(1)).containsExactly(new WindowMerger.Series("r", "moved"));
    assertThat(m.pendingBytes())
        .isEqualTo(WindowMerger.sizeOf(part("x", "l", 0, 1, 0).snapshot()))
        .isLessThan(keptBytes);
    // The partition comes back later and is read from its start.
    assertThat(m.offer(part("r", "moved", 0, 2, 0), 1, 100).admission())
        .isEqualTo(Admission.ACCEPTED);
    assertThat(m.offer(part("r", "moved", 1, 2, 0), 1, 110).closed()).hasSize(1);
    assertThat(m.release(2)).isEmpty();
    assertThat(m.release(0)).containsExactly(new WindowMerger.Series("r", "kept"));
    assertThat(m.release(1)).containsExactly(new WindowMerger.Series("r", "moved"));
    assertThat(m.liveRuns()).isZero();
    assertThat(m.pendingBytes()).isZero();
  }

  @Test
  void idleRunIsForgottenWithItsPendingParts() {
    WindowMerger m = merger();
    m.offer(part("old", "l", 0, 2, 0), 0, 100);
    m.offer(part("new", "l", 0, 2, 0), 0, 5_000);
    assertThat(m.evictIdle(5_100, 1_000)).containsExactly("old");
    assertThat(m.liveRuns()).isEqualTo(1);
    assertThat(m.pendingBytes()).isEqualTo(WindowMerger.sizeOf(part("x", "l", 0, 1, 0).snapshot()));
  }

  @Test
  void pendingBytesAboveTheBoundCloseTheOldestWindow() {
    long one = WindowMerger.sizeOf(part("x", "l", 0, 1, 0).snapshot());
    WindowMerger m = WindowMerger.bounded(TIMEOUT, 4, 4, 8, 2 * one, 8);
    m.offer(part("r", "a", 0, 4, 0), 0, 100);
    m.offer(part("r", "b", 0, 4, 0), 0, 200);
    List<MergedWindow> closed = m.offer(part("r", "c", 0, 4, 0), 0, 300).closed();
    assertThat(closed).extracting(MergedWindow::layer).containsExactly("a");
    assertThat(closed.get(0).complete()).isFalse();
    assertThat(m.pendingBytes()).isEqualTo(2 * one);
  }

  @Test
  void partContradictingTheWorldSizeOfItsWindowIsRejected() {
    WindowMerger m = merger();
    m.offer(part("r", "l", 0, 2, 0), 0, 100);
    assertThat(m.offer(part("r", "l", 1, 3, 0), 0, 100).admission())
        .isEqualTo(Admission.WORLD_SIZE_MISMATCH);
  }
}
