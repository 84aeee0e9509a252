package io.phasewatch.collector.spectrum;

import static org.assertj.core.api.Assertions.assertThat;

import io.phasewatch.core.sketch.CovarianceSketch;
import io.phasewatch.core.sketch.CovarianceSnapshot;
import io.phasewatch.core.sketch.DefaultSummary;
import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.core.sketch.Float32MomentSnapshot;
import io.phasewatch.core.sketch.RowSampleSnapshot;
import io.phasewatch.core.wire.DecodeLimits;
import io.phasewatch.core.wire.SnapshotCodec;
import io.phasewatch.core.wire.SnapshotMetadata;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.Stage;
import io.phasewatch.core.wire.WireFormatException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The default route — {@link DefaultSummary} on each of 8 ranks, the wire, the collector's merge
 * and spectrum — against the study's computation (the exact double co-moment and a d × d
 * eigensolver) on the rows the window describes. At d = 2048 that is every row of the window (the
 * float32 co-moment); past {@link DefaultSummary#FLOAT32_MAX_DIMENSION} the window's uniform
 * sample. Fails if the route drifts from exact by more than the accuracy targets: RankMe within 1
 * %, α within 0.02.
 */
class DefaultRouteAccuracyTest {

  private static final int D = 2048;
  private static final int RANKS = 8;

  /** The first width past the float32 co-moment, where the default is the row sample. */
  private static final int D_SAMPLED = DefaultSummary.FLOAT32_MAX_DIMENSION + 64;

  @Test
  void aProbePassOf256RowsIsMeasuredOnAllOfThem() throws WireFormatException {
    // The study's protocol: a fixed probe set, sharded over the ranks (32 rows each).
    assertAllRowsWithinTargets(new PowerLawRows(D, 0.8, 11), 32);
  }

  @Test
  void aLiveWindowOf5120RowsIsMeasuredOnAllOfThem() throws WireFormatException {
    // The agent's live defaults: 100-step windows, 64 rows every 10th step, 640 rows per rank;
    // a steep spectrum, whose tail is where float32 storage would show first.
    assertAllRowsWithinTargets(new PowerLawRows(D, 1.5, 12), 640);
  }

  private static void assertAllRowsWithinTargets(PowerLawRows source, int rowsPerRank)
      throws WireFormatException {
    ExactSummary reference = ExactSummary.ofDimension(D);
    List<SnapshotRecord> parts = new ArrayList<>();
    for (int r = 0; r < RANKS; r++) {
      float[] rows = source.next(rowsPerRank);
      reference.update(rows, rowsPerRank);
      parts.add(throughTheWire(D, r, rows, rowsPerRank));
    }
    assertThat(parts.get(0).snapshot()).isInstanceOf(Float32MomentSnapshot.class);
    CovarianceSnapshot merged =
        SnapshotMerge.mergeAll(parts.stream().map(SnapshotRecord::snapshot).toList());
    assertThat(merged.count()).isEqualTo((long) RANKS * rowsPerRank);

    // One part names its summary; the merge of co-moments is carried in double.
    assertThat(Spectrum.of(parts.get(0).snapshot()).kind().label()).isEqualTo("exact32");
    assertWithinTargets(
        SpectralMeasures.of(Spectrum.of(merged)),
        SpectralMeasures.of(Spectrum.of(reference.snapshot())));
  }

  @Test
  void pastTheFloat32LimitALiveWindowIsMeasuredOnItsUniformSampleOf2048()
      throws WireFormatException {
    int d = D_SAMPLED;
    PowerLawRows source = new PowerLawRows(d, 1.0, 12);
    Set<ByteBuffer> offered = new HashSet<>();
    List<SnapshotRecord> parts = new ArrayList<>();
    for (int r = 0; r < RANKS; r++) {
      float[] rows = source.next(640);
      for (int i = 0; i < 640; i++) {
        offered.add(rowKey(rows, i, d));
      }
      parts.add(throughTheWire(d, r, rows, 640));
    }
    var merged =
        (RowSampleSnapshot)
            SnapshotMerge.mergeAll(parts.stream().map(SnapshotRecord::snapshot).toList());
    assertThat(merged.count()).isEqualTo(DefaultSummary.SAMPLE_ROWS);
    assertThat(merged.seenRows()).isEqualTo(RANKS * 640);

    // The rows the window describes are rows the trainer handed over, each once.
    float[] kept = merged.rows();
    Set<ByteBuffer> distinct = new HashSet<>();
    for (int i = 0; i < merged.count(); i++) {
      assertThat(offered).contains(rowKey(kept, i, d));
      distinct.add(rowKey(kept, i, d));
    }
    assertThat(distinct).hasSize(DefaultSummary.SAMPLE_ROWS);
    ExactSummary reference = ExactSummary.ofDimension(d);
    reference.update(kept, (int) merged.count());

    assertWithinTargets(
        SpectralMeasures.of(Spectrum.of(merged)),
        SpectralMeasures.of(Spectrum.of(reference.snapshot())));
  }

  private static SnapshotRecord throughTheWire(int d, int rank, float[] rows, int n)
      throws WireFormatException {
    CovarianceSketch sketch = DefaultSummary.forLayer(d, RANKS);
    sketch.update(rows, n);
    SnapshotMetadata meta =
        new SnapshotMetadata("run", Stage.PRETRAIN, rank, RANKS, "final_norm", 100, 100, 0, 0, 0);
    var assembler = io.phasewatch.core.wire.ChunkAssembler.withDefaults();
    SnapshotRecord out = null;
    for (byte[] frame :
        SnapshotCodec.encode(
            new SnapshotRecord(meta, sketch.snapshot()), SnapshotCodec.DEFAULT_MAX_RECORD_BYTES)) {
      var done = assembler.accept(SnapshotCodec.decode(frame, DecodeLimits.defaults()), 0);
      if (done.isPresent()) {
        out = done.get();
      }
    }
    assertThat(out).isNotNull();
    return out;
  }

  private static ByteBuffer rowKey(float[] rows, int i, int d) {
    ByteBuffer b = ByteBuffer.allocate(4 * d);
    b.asFloatBuffer().put(rows, i * d, d);
    return b;
  }

  private static void assertWithinTargets(SpectralMeasures got, SpectralMeasures exact) {
    assertThat(got.count()).isEqualTo(exact.count());
    assertThat(got.fitRange()).isEqualTo(FitRange.STUDY);
    assertThat(exact.fitRange()).isEqualTo(FitRange.STUDY);
    assertThat(Math.abs(got.effectiveRank() / exact.effectiveRank() - 1))
        .as("RankMe %s vs exact %s", got.effectiveRank(), exact.effectiveRank())
        .isLessThanOrEqualTo(0.01);
    assertThat(Math.abs(got.alpha() - exact.alpha()))
        .as("α %s vs exact %s", got.alpha(), exact.alpha())
        .isLessThanOrEqualTo(0.02);
  }
}
