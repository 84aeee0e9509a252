package io.phasewatch.agent.publish;

import io.phasewatch.core.wire.SnapshotCodec;
import io.phasewatch.core.wire.SnapshotRecord;
import java.util.List;

/** Turns a snapshot into Kafka record values (chunks) and names their content type. */
public interface SnapshotEncoder {

  /** The Kafka header that carries {@link #contentType()}. */
  String contentTypeHeader();

  /** Media type with the format version, e.g. {@code application/vnd.phasewatch.sketch;v=1}. */
  String contentType();

  /** The record values of one snapshot, each at most {@code maxRecordBytes} long, in order. */
  List<byte[]> encode(SnapshotRecord record, int maxRecordBytes);

  /** Wire format v1 ({@link SnapshotCodec}): what the agent publishes unless told else. */
  static SnapshotEncoder v1() {
    return new SnapshotEncoder() {
      @Override
      public String contentTypeHeader() {
        return SnapshotCodec.CONTENT_TYPE_HEADER;
      }

      @Override
      public String contentType() {
        return SnapshotCodec.CONTENT_TYPE;
      }

      @Override
      public List<byte[]> encode(SnapshotRecord record, int maxRecordBytes) {
        return SnapshotCodec.encode(record, maxRecordBytes);
      }
    };
  }
}
