package io.phasewatch.core.wire;

import static io.phasewatch.core.wire.WireLayout.FRAME_OVERHEAD;
import static io.phasewatch.core.wire.WireLayout.F_BODY_CRC;
import static io.phasewatch.core.wire.WireLayout.F_BODY_LENGTH;
import static io.phasewatch.core.wire.WireLayout.F_PAYLOAD;
import static io.phasewatch.core.wire.WireLayout.F_PAYLOAD_LENGTH;

import io.phasewatch.core.sketch.ExactSnapshot;
import io.phasewatch.core.sketch.FdSnapshot;
import io.phasewatch.core.sketch.Float32MomentSnapshot;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/** Builds valid and deliberately broken record values for tests, sealing CRCs where asked. */
final class Forge {
  private Forge() {}

  static SnapshotMetadata metadata(String run, String layer) {
    return new SnapshotMetadata(
        run, Stage.PRETRAIN, 0, 2, layer, 10, 1, 2048, 1_700_000_000_000L, 0);
  }

  static SnapshotRecord exact(int d) {
    double[] mean = new double[d];
    double[] c = new double[d * d];
    for (int i = 0; i < d; i++) {
      mean[i] = i * 0.5 - 1;
      for (int j = 0; j < d; j++) {
        c[i * d + j] = i == j ? 10 + i : 1.0 / (1 + i + j);
      }
    }
    return new SnapshotRecord(metadata("r1", "l12"), new ExactSnapshot(100, mean, c, 1));
  }

  static SnapshotRecord exact32(int d) {
    double[] mean = new double[d];
    float[] upper = new float[d * (d + 1) / 2];
    for (int i = 0, at = 0; i < d; i++) {
      mean[i] = i * 0.5 - 1;
      for (int j = i; j < d; j++, at++) {
        upper[at] = i == j ? 10 + i : 1.0f / (1 + i + j);
      }
    }
    return new SnapshotRecord(
        metadata("r1", "l12"), new Float32MomentSnapshot(100, mean, upper, 1));
  }

  static SnapshotRecord fd(int ell, int d, int rowCount) {
    double[] mean = new double[d];
    double[] rows = new double[rowCount * d];
    for (int i = 0; i < d; i++) {
      mean[i] = i * 0.25;
    }
    for (int i = 0; i < rows.length; i++) {
      rows[i] = Math.sin(i + 1);
    }
    // Σ‖z‖² = N‖μ‖² + 5000: a total variance of 5000/(N − 1) ≥ 0, as a decoder requires.
    double nMeanSquare = 0;
    for (double m : mean) {
      nMeanSquare += 1000 * m * m;
    }
    return new SnapshotRecord(
        metadata("r1", "l12"), new FdSnapshot(ell, 1000, mean, rows, nMeanSquare + 5000, 12.5, 3));
  }

  static byte[] single(SnapshotRecord r) {
    List<byte[]> frames = SnapshotCodec.encode(r, SnapshotCodec.DEFAULT_MAX_RECORD_BYTES);
    if (frames.size() != 1) {
      throw new IllegalStateException("expected one frame, got " + frames.size());
    }
    return frames.get(0);
  }

  /** The body carried by a single-chunk frame. */
  static byte[] body(byte[] frame) {
    return Arrays.copyOfRange(frame, F_PAYLOAD, frame.length - 4);
  }

  /** A single-chunk frame around any body, with both CRCs correct. */
  static byte[] frame(byte[] body) {
    ByteBuffer f = ByteBuffer.allocate(FRAME_OVERHEAD + body.length).order(ByteOrder.LITTLE_ENDIAN);
    f.putInt(WireLayout.F_MAGIC, WireLayout.MAGIC);
    f.putShort(WireLayout.F_VERSION, (short) 1);
    f.putLong(WireLayout.F_SNAPSHOT_ID, 42);
    f.putInt(F_BODY_LENGTH, body.length);
    f.putInt(F_BODY_CRC, WireBytes.crc32c(body, 0, body.length));
    f.putInt(WireLayout.F_CHUNK_INDEX, 0);
    f.putInt(WireLayout.F_CHUNK_COUNT, 1);
    f.putInt(WireLayout.F_CHUNK_OFFSET, 0);
    f.putInt(F_PAYLOAD_LENGTH, body.length);
    f.put(F_PAYLOAD, body);
    return reseal(f.array());
  }

  /** Edits the body of a single-chunk frame (offsets relative to the body) and reseals it. */
  static byte[] editBody(byte[] frame, Consumer<ByteBuffer> edit) {
    byte[] body = body(frame);
    edit.accept(ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN));
    return frame(body);
  }

  /** Edits a frame's header (absolute offsets) and recomputes only the frame CRC. */
  static byte[] editHeader(byte[] frame, Consumer<ByteBuffer> edit) {
    byte[] copy = frame.clone();
    edit.accept(ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN));
    return reseal(copy);
  }

  /** Recomputes the trailing frame CRC32C, trusting the payload length field. */
  static byte[] reseal(byte[] frame) {
    int crcAt = frame.length - 4;
    ByteBuffer.wrap(frame)
        .order(ByteOrder.LITTLE_ENDIAN)
        .putInt(crcAt, WireBytes.crc32c(frame, 0, crcAt));
    return frame;
  }
}
