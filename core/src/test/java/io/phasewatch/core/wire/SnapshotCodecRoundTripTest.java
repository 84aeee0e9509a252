package io.phasewatch.core.wire;

import static org.assertj.core.api.Assertions.assertThat;

import io.phasewatch.core.sketch.CovarianceSnapshot;
import io.phasewatch.core.sketch.ExactSnapshot;
import io.phasewatch.core.sketch.FdSnapshot;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

class SnapshotCodecRoundTripTest {

  @Property(tries = 300)
  void decodeOfEncodeIsTheRecordForAnySplitAndChunkOrder(
      @ForAll("records") SnapshotRecord record,
      @ForAll @IntRange(min = 1, max = 40) int wantedChunks,
      @ForAll Random random)
      throws WireFormatException {
    int bodyLength = Forge.single(record).length - WireLayout.FRAME_OVERHEAD;
    int maxRecordBytes =
        Math.max(
            SnapshotCodec.MIN_RECORD_BYTES,
            WireLayout.FRAME_OVERHEAD + (bodyLength + wantedChunks - 1) / wantedChunks);
    List<byte[]> frames = new ArrayList<>(SnapshotCodec.encode(record, maxRecordBytes));
    assertThat(frames).allSatisfy(f -> assertThat(f.length).isLessThanOrEqualTo(maxRecordBytes));
    Collections.shuffle(frames, random);

    ChunkAssembler assembler = ChunkAssembler.withDefaults();
    List<SnapshotRecord> completed = new ArrayList<>();
    for (byte[] frame : frames) {
      Optional<SnapshotRecord> r =
          assembler.accept(SnapshotCodec.decode(frame, DecodeLimits.defaults()), 0);
      r.ifPresent(completed::add);
    }
    assertThat(completed).containsExactly(record);
    assertThat(assembler.pendingSnapshots()).isZero();
    assertThat(assembler.pendingBytes()).isZero();
  }

  @Property(tries = 200)
  void aSnapshotThatFitsTravelsAsOneWholeValue(@ForAll("records") SnapshotRecord record)
      throws WireFormatException {
    List<byte[]> frames = SnapshotCodec.encode(record, SnapshotCodec.DEFAULT_MAX_RECORD_BYTES);
    assertThat(frames).hasSize(1);
    DecodedChunk chunk = SnapshotCodec.decode(frames.get(0), DecodeLimits.defaults());
    assertThat(chunk.chunkCount()).isEqualTo(1);
    assertThat(chunk.whole()).contains(record);
  }

  @Provide
  Arbitrary<SnapshotRecord> records() {
    return Combinators.combine(
            metadata(), Arbitraries.oneOf(exactSnapshots(), fdSnapshots()), scalars())
        .as(SnapshotRecord::new);
  }

  /** Empty half the time (no section, flags 0), else 1 … 32 names with any weight and value. */
  private static Arbitrary<TrainingScalars> scalars() {
    Arbitrary<String> name =
        Combinators.combine(
                Arbitraries.chars().range('a', 'z'),
                Arbitraries.strings()
                    .withCharRange('a', 'z')
                    .numeric()
                    .withChars("_.")
                    .ofMaxLength(TrainingScalars.MAX_NAME_LENGTH - 1))
            .as((first, rest) -> first + rest);
    Arbitrary<TrainingScalars.Scalar> scalar =
        Combinators.combine(Arbitraries.longs().between(1, 0xFFFF_FFFFL), finite())
            .as(TrainingScalars.Scalar::new);
    Arbitrary<TrainingScalars> some =
        Arbitraries.maps(name, scalar)
            .ofMinSize(1)
            .ofMaxSize(TrainingScalars.MAX_SCALARS)
            .map(TrainingScalars::new);
    return Arbitraries.oneOf(Arbitraries.just(TrainingScalars.empty()), some);
  }

  private static Arbitrary<String> names() {
    // Letters, digits, punctuation and multi-byte UTF-8 (2, 3 and 4 bytes), never unpaired
    // surrogates (those cannot survive UTF-8).
    Arbitrary<String> plain =
        Arbitraries.strings().alpha().numeric().withChars("._-/:é中").ofMinLength(1).ofMaxLength(60);
    return Arbitraries.oneOf(plain, plain.map(s -> s + "😀"));
  }

  private static Arbitrary<SnapshotMetadata> metadata() {
    Arbitrary<Integer> worldSize = Arbitraries.integers().between(1, 1024);
    return Combinators.combine(
            names(),
            Arbitraries.of(Stage.class),
            worldSize.flatMap(
                w -> Arbitraries.integers().between(0, w - 1).map(r -> new int[] {r, w})),
            names(),
            Arbitraries.longs().greaterOrEqual(0),
            Arbitraries.longs().greaterOrEqual(0),
            Arbitraries.longs().greaterOrEqual(0),
            Arbitraries.longs())
        .as(
            (run, stage, rankWorld, layer, step, window, tokens, time) ->
                new SnapshotMetadata(
                    run,
                    stage,
                    rankWorld[0],
                    rankWorld[1],
                    layer,
                    step,
                    window,
                    tokens,
                    time,
                    step / 3));
  }

  private static Arbitrary<Double> finite() {
    return Arbitraries.oneOf(
        Arbitraries.doubles().between(-1e6, 1e6),
        Arbitraries.of(0.0, -0.0, Double.MIN_VALUE, Double.MAX_VALUE, -Double.MAX_VALUE, 1e-300));
  }

  private static Arbitrary<double[]> vector(int n) {
    return finite().array(double[].class).ofSize(n);
  }

  private static Arbitrary<CovarianceSnapshot> exactSnapshots() {
    return Arbitraries.integers()
        .between(1, 12)
        .flatMap(
            d ->
                Combinators.combine(
                        Arbitraries.longs().greaterOrEqual(0),
                        vector(d),
                        vector(d * (d + 1) / 2),
                        Arbitraries.longs().greaterOrEqual(0))
                    .as(
                        (n, mean, upper, nonFinite) -> {
                          // The wire holds the upper triangle; a record from a sketch is
                          // symmetric, so build one from a random upper triangle.
                          double[] c = new double[d * d];
                          int k = 0;
                          for (int i = 0; i < d; i++) {
                            for (int j = i; j < d; j++) {
                              c[i * d + j] = upper[k];
                              c[j * d + i] = upper[k++];
                            }
                          }
                          return new ExactSnapshot(n, mean, c, nonFinite);
                        }));
  }

  private static Arbitrary<CovarianceSnapshot> fdSnapshots() {
    return Combinators.combine(
            Arbitraries.integers().between(1, 12), Arbitraries.integers().between(1, 10))
        .as((d, ell) -> new int[] {d, ell})
        .flatMap(
            de ->
                Arbitraries.integers()
                    .between(0, de[1])
                    .flatMap(
                        rowCount ->
                            Combinators.combine(
                                    Arbitraries.longs().greaterOrEqual(0),
                                    vector(de[0]),
                                    vector(rowCount * de[0]),
                                    Arbitraries.doubles().between(0, 1e12),
                                    Arbitraries.doubles().between(0, 1e6),
                                    Arbitraries.longs().greaterOrEqual(0))
                                .as(
                                    (n, mean, rows, spread, shrink, nonFinite) ->
                                        consistentFd(
                                            de[1], n, mean, rows, spread, shrink, nonFinite))));
  }

  /**
   * A decoder rejects Σ‖z‖² < N‖μ‖² (negative total variance): Σ‖z‖² is N‖μ‖² plus the drawn
   * spread, with the mean scaled down where that sum would overflow.
   */
  private static FdSnapshot consistentFd(
      int ell, long n, double[] mean, double[] rows, double spread, double shrink, long nonFinite) {
    double norm2 = 0;
    for (double m : mean) {
      norm2 += m * m;
    }
    double ss = n * norm2 + spread;
    if (!Double.isFinite(ss) || ss > 1e300) {
      mean = new double[mean.length];
      ss = spread;
    }
    return new FdSnapshot(ell, n, mean, rows, ss, shrink, nonFinite);
  }
}
