package io.phasewatch.core.wire;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Hostile input: the only outcome of decoding or assembling must be a {@link WireFormatException}
 * (or, where the bytes still form a valid record, a record) — never another exception, a hang or an
 * allocation beyond what the value's own size explains. Seeds are fixed so a failure reproduces;
 * the input is printed in hex.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SnapshotCodecFuzzTest {

  private static final DecodeLimits LIMITS = DecodeLimits.defaults();

  /** Decoding may copy the value and, for exact summaries, mirror d(d+1)/2 into d² doubles. */
  private static long allocationBound(byte[] value) {
    return 4L * value.length + 256 * 1024;
  }

  private static List<byte[]> validValues() {
    List<byte[]> values = new ArrayList<>();
    values.add(Forge.single(Forge.exact(3)));
    values.add(Forge.single(Forge.exact(12)));
    values.add(Forge.single(Forge.exact32(5)));
    values.add(Forge.single(Forge.fd(4, 3, 2)));
    values.add(Forge.single(Forge.fd(16, 24, 9)));
    values.addAll(SnapshotCodec.encode(Forge.fd(8, 8, 8), 256));
    return values;
  }

  /** Decodes; true when rejected. Anything but a WireFormatException fails the test. */
  private static boolean rejected(byte[] value, Map<RejectReason, Integer> tally) throws Exception {
    boolean[] threw = {false};
    long allocated = Long.MAX_VALUE;
    // Twice, keeping the smaller figure: the first call on a code path may load classes.
    for (int attempt = 0; attempt < 2; attempt++) {
      try {
        allocated =
            Math.min(
                allocated,
                Allocation.of(
                    () -> {
                      threw[0] = true;
                      SnapshotCodec.decode(value, LIMITS);
                      threw[0] = false;
                    }));
      } catch (RuntimeException | Error e) {
        throw new AssertionError(
            "decode threw " + e + " for " + HexFormat.of().formatHex(value), e);
      }
    }
    assertThat(allocated)
        .as("bytes allocated decoding %s", HexFormat.of().formatHex(value))
        .isLessThanOrEqualTo(allocationBound(value));
    if (threw[0]) {
      try {
        SnapshotCodec.decode(value, LIMITS);
      } catch (WireFormatException e) {
        assertThat(e.getMessage()).isNotBlank();
        assertThat(e.field()).isNotBlank();
        tally.merge(e.reason(), 1, Integer::sum);
      }
    }
    return threw[0];
  }

  @Test
  void randomBytesAreRejectedWithATypedError() throws Exception {
    Random random = new Random(1);
    Map<RejectReason, Integer> tally = new EnumMap<>(RejectReason.class);
    for (int i = 0; i < 20_000; i++) {
      byte[] v = new byte[random.nextInt(400)];
      random.nextBytes(v);
      ByteBuffer b = ByteBuffer.wrap(v).order(ByteOrder.LITTLE_ENDIAN);
      int mode = v.length >= WireLayout.FRAME_OVERHEAD ? i % 4 : 0;
      if (mode >= 1) {
        // Past magic and version, so the later checks see random input too.
        b.putInt(WireLayout.F_MAGIC, WireLayout.MAGIC);
        b.putShort(WireLayout.F_VERSION, (short) 1);
      }
      if (mode >= 2) {
        b.putInt(WireLayout.F_PAYLOAD_LENGTH, v.length - WireLayout.FRAME_OVERHEAD);
      }
      if (mode == 3) {
        // A random header with a correct frame CRC: reaches the chunk and body checks.
        Forge.reseal(v);
      }
      assertThat(rejected(v, tally)).as("random value %d", i).isTrue();
    }
    assertThat(tally)
        .containsKeys(RejectReason.BAD_MAGIC, RejectReason.BAD_CRC, RejectReason.TRUNCATED);
  }

  @Test
  void everyTruncationOfAValidValueIsRejected() throws Exception {
    Map<RejectReason, Integer> tally = new EnumMap<>(RejectReason.class);
    for (byte[] valid : validValues()) {
      for (int length = 0; length < valid.length; length++) {
        assertThat(rejected(Arrays.copyOf(valid, length), tally))
            .as("prefix of %d bytes", length)
            .isTrue();
      }
    }
  }

  @Test
  void everySingleBitFlipIsRejected() throws Exception {
    Map<RejectReason, Integer> tally = new EnumMap<>(RejectReason.class);
    for (byte[] valid : validValues()) {
      for (int bit = 0; bit < valid.length * 8; bit++) {
        byte[] v = valid.clone();
        v[bit / 8] ^= (byte) (1 << (bit % 8));
        assertThat(rejected(v, tally)).as("flip of bit %d", bit).isTrue();
      }
    }
    assertThat(tally)
        .containsKeys(
            RejectReason.BAD_MAGIC,
            RejectReason.BAD_VERSION,
            RejectReason.BAD_CRC,
            RejectReason.TRUNCATED);
  }

  @Test
  void multiBitFlipsAreRejected() throws Exception {
    Random random = new Random(2);
    List<byte[]> valid = validValues();
    Map<RejectReason, Integer> tally = new EnumMap<>(RejectReason.class);
    for (int i = 0; i < 10_000; i++) {
      byte[] v = valid.get(random.nextInt(valid.size())).clone();
      Set<Integer> bits = new HashSet<>();
      int flips = 2 + random.nextInt(15);
      while (bits.size() < flips) {
        bits.add(random.nextInt(v.length * 8));
      }
      for (int bit : bits) {
        v[bit / 8] ^= (byte) (1 << (bit % 8));
      }
      assertThat(rejected(v, tally)).as("%d flipped bits", flips).isTrue();
    }
  }

  @Test
  void corruptBodiesBehindValidCrcsOnlyEverFailTyped() throws Exception {
    // CRCs shield the field checks from random damage; reseal so the field checks see it.
    Random random = new Random(3);
    List<byte[]> bodies = new ArrayList<>();
    for (byte[] v : validValues().subList(0, 4)) {
      bodies.add(Forge.body(v));
    }
    Map<RejectReason, Integer> tally = new EnumMap<>(RejectReason.class);
    int accepted = 0;
    for (int i = 0; i < 20_000; i++) {
      byte[] body = bodies.get(random.nextInt(bodies.size())).clone();
      int edits = 1 + random.nextInt(4);
      for (int e = 0; e < edits; e++) {
        // Mostly the fixed part and the strings, where the interesting fields live.
        int at = random.nextInt(random.nextBoolean() ? Math.min(body.length, 100) : body.length);
        switch (random.nextInt(4)) {
          case 0 -> body[at] ^= (byte) (1 << random.nextInt(8));
          case 1 -> body[at] = (byte) random.nextInt(256);
          case 2 -> body[at] = (byte) 0xFF;
          default -> body[at] = 0;
        }
      }
      if (random.nextInt(10) == 0) {
        body = Arrays.copyOf(body, Math.max(1, body.length + random.nextInt(33) - 16));
      }
      if (!rejected(Forge.frame(body), tally)) {
        accepted++;
      }
    }
    assertThat(tally)
        .containsKeys(RejectReason.BAD_FIELD, RejectReason.TOO_LARGE, RejectReason.TRUNCATED);
    // Flipped mantissa bits still make valid records: both outcomes must occur.
    assertThat(accepted).isPositive();
  }

  @Test
  void chunkStreamsWithCorruptMissingOrDuplicatedChunksNeverYieldAWrongSnapshot() throws Exception {
    Random random = new Random(4);
    List<SnapshotRecord> records =
        List.of(
            Forge.fd(8, 8, 8),
            Forge.exact(12),
            Forge.exact32(12),
            Forge.fd(16, 24, 9),
            Forge.fd(4, 3, 2));
    for (int trial = 0; trial < 2_000; trial++) {
      ChunkAssembler assembler = ChunkAssembler.bounded(4, 4096, 1_000, LIMITS);
      List<byte[]> stream = new ArrayList<>();
      Set<SnapshotRecord> intact = new HashSet<>();
      Set<SnapshotRecord> sent = new HashSet<>();
      // Two different snapshots: copies of one snapshot share its id by design.
      int firstPick = random.nextInt(records.size());
      int secondPick = (firstPick + 1 + random.nextInt(records.size() - 1)) % records.size();
      for (int pick : new int[] {firstPick, secondPick}) {
        SnapshotRecord r = records.get(pick);
        List<byte[]> frames = new ArrayList<>(SnapshotCodec.encode(r, 64 + random.nextInt(400)));
        sent.add(r);
        boolean damaged = false;
        switch (random.nextInt(5)) {
          case 0 -> {
            frames.remove(random.nextInt(frames.size()));
            damaged = true;
          }
          case 1 -> {
            byte[] f = frames.get(random.nextInt(frames.size()));
            f[random.nextInt(f.length)] ^= (byte) (1 << random.nextInt(8));
            damaged = true;
          }
          case 2 -> {
            // Damage behind a valid frame CRC: caught by a header check, the body CRC, the
            // tiling check or a contradiction with the other chunks.
            byte[] f = frames.get(random.nextInt(frames.size()));
            int at = WireLayout.F_SNAPSHOT_ID + random.nextInt(f.length - 4 - 8);
            f[at] ^= (byte) (1 << random.nextInt(8));
            Forge.reseal(f);
            damaged = true;
          }
          case 3 -> frames.add(frames.get(random.nextInt(frames.size())).clone());
          default -> {}
        }
        if (!damaged && frames.size() <= 8) {
          intact.add(r);
        }
        stream.addAll(frames);
      }
      Collections.shuffle(stream, random);
      Set<SnapshotRecord> completed = new HashSet<>();
      for (byte[] v : stream) {
        try {
          assembler.accept(SnapshotCodec.decode(v, LIMITS), 0).ifPresent(completed::add);
        } catch (WireFormatException expected) {
          assertThat(expected.reason()).isNotNull();
        } catch (RuntimeException | Error e) {
          throw new AssertionError("trial " + trial + ": " + e, e);
        }
        assertThat(assembler.pendingBytes()).isBetween(0L, 4096L);
      }
      assertThat(sent).containsAll(completed);
      // Undamaged snapshots that fit the 4096-byte bound complete; overflow may refuse the rest.
      if (intact.size() == sent.size() && stream.size() * 512L <= 4096) {
        assertThat(completed).containsAll(intact);
      }
      assembler.expire(1_000);
      assertThat(assembler.pendingSnapshots()).isZero();
      assertThat(assembler.pendingBytes()).isZero();
    }
  }
}
