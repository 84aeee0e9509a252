package io.phasewatch.agent.publish;

import io.phasewatch.agent.sketch.ExactSnapshot;
import io.phasewatch.agent.wire.SnapshotMetadata;
import io.phasewatch.agent.wire.SnapshotRecord;
import io.phasewatch.agent.wire.Stage;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A test-only encoding of exact snapshots (Java data streams, chunked with a 8-byte header of index
 * and count), so the publisher's tests check delivery, order and chunking independently of the
 * production wire format.
 */
final class TestCodec implements SnapshotEncoder {
  static final String HEADER = "content-type";
  static final String TYPE = "application/x-phasewatch-test";

  @Override
  public String contentTypeHeader() {
    return HEADER;
  }

  @Override
  public String contentType() {
    return TYPE;
  }

  @Override
  public List<byte[]> encode(SnapshotRecord record, int maxRecordBytes) {
    var buf = new ByteArrayOutputStream();
    try (var out = new DataOutputStream(buf)) {
      SnapshotMetadata m = record.metadata();
      out.writeUTF(m.runId());
      out.writeUTF(m.stage().label());
      out.writeInt(m.rank());
      out.writeInt(m.worldSize());
      out.writeUTF(m.layer());
      out.writeLong(m.step());
      out.writeLong(m.windowId());
      out.writeLong(m.tokensSeen());
      out.writeLong(m.captureTimeMillis());
      out.writeLong(m.samplesDropped());
      ExactSnapshot s = (ExactSnapshot) record.snapshot();
      out.writeLong(s.count());
      out.writeLong(s.nonFiniteRows());
      out.writeInt(s.dimension());
      for (double v : s.mean()) {
        out.writeDouble(v);
      }
      for (double v : s.comoment()) {
        out.writeDouble(v);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    byte[] all = buf.toByteArray();
    int payload = maxRecordBytes - 8;
    int count = (all.length + payload - 1) / payload;
    List<byte[]> chunks = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      byte[] part = Arrays.copyOfRange(all, i * payload, Math.min(all.length, (i + 1) * payload));
      chunks.add(ByteBuffer.allocate(8 + part.length).putInt(i).putInt(count).put(part).array());
    }
    return chunks;
  }

  /** Reassembles consecutive chunks of one snapshot (as the test consumer reads them in order). */
  static final class Assembler {
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
    private int expected;

    /** The record once its last chunk arrived, else null. */
    SnapshotRecord add(byte[] chunk) {
      ByteBuffer b = ByteBuffer.wrap(chunk);
      int index = b.getInt();
      int count = b.getInt();
      if (index != expected) {
        throw new IllegalStateException("chunk " + index + " out of order, expected " + expected);
      }
      pending.write(chunk, 8, chunk.length - 8);
      expected++;
      if (expected < count) {
        return null;
      }
      expected = 0;
      byte[] all = pending.toByteArray();
      pending.reset();
      return decode(all);
    }
  }

  static SnapshotRecord decode(byte[] all) {
    try (var in = new DataInputStream(new java.io.ByteArrayInputStream(all))) {
      var meta =
          new SnapshotMetadata(
              in.readUTF(),
              Stage.fromLabel(in.readUTF()),
              in.readInt(),
              in.readInt(),
              in.readUTF(),
              in.readLong(),
              in.readLong(),
              in.readLong(),
              in.readLong(),
              in.readLong());
      long count = in.readLong();
      long nonFinite = in.readLong();
      int d = in.readInt();
      double[] mean = new double[d];
      for (int i = 0; i < d; i++) {
        mean[i] = in.readDouble();
      }
      double[] m = new double[d * d];
      for (int i = 0; i < d * d; i++) {
        m[i] = in.readDouble();
      }
      return new SnapshotRecord(meta, new ExactSnapshot(count, mean, m, nonFinite));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
