package io.phasewatch.core.wire;

/**
 * Wire format v1's byte layout, the one place that knows it: the offsets below are the byte map of
 * docs/wire-format.md; change both together, and never change v1 itself (golden files pin it).
 *
 * <pre>
 * frame (one Kafka record value)           body (the snapshot, cut into the frames' payloads)
 *  0 u32 magic 'PWSK'                        0 u8  kind          16 u32 rank     56 i64 samplesDropped
 *  4 u16 version = 1                         1 u8  stage         20 u32 world    64 i64 count
 *  6 u16 reserved = 0                        2 u16 flags         24 i64 step     72 i64 nonFiniteRows
 *  8 u64 snapshot id                         4 u32 d             32 i64 window   80 run id, layer
 * 16 u32 body length  20 u32 body CRC32C     8 u32 ell           40 i64 tokens      (u16 + UTF-8)
 * 24 u32 chunk index  28 u32 chunk count    12 u32 rowCount      48 i64 capture  then the payload,
 * 32 u32 chunk offset 36 u32 payload length                                      then scalars
 * 40 payload, then u32 CRC32C of [0, 40 + length)
 * </pre>
 *
 * Every multi-byte field is little-endian, whatever the platform ({@link WireBytes}).
 */
final class WireLayout {

  /** The bytes {@code 'P' 'W' 'S' 'K'} read as a little-endian u32. */
  static final int MAGIC = 0x4B535750;

  static final int FORMAT_VERSION = 1;

  // ---- Frame: one Kafka record value -------------------------------------------------------
  static final int F_MAGIC = 0; // u32
  static final int F_VERSION = 4; // u16
  static final int F_RESERVED = 6; // u16, zero in v1
  static final int F_SNAPSHOT_ID = 8; // u64
  static final int F_BODY_LENGTH = 16; // u32
  static final int F_BODY_CRC = 20; // u32, CRC32C of the whole body
  static final int F_CHUNK_INDEX = 24; // u32
  static final int F_CHUNK_COUNT = 28; // u32
  static final int F_CHUNK_OFFSET = 32; // u32
  static final int F_PAYLOAD_LENGTH = 36; // u32
  static final int F_PAYLOAD = 40; // payloadLength bytes, then u32 CRC32C of [0, 40 + length)
  static final int FRAME_OVERHEAD = F_PAYLOAD + 4;

  // ---- Body: the snapshot, possibly spread over several frames ------------------------------
  static final int B_KIND = 0; // u8
  static final int B_STAGE = 1; // u8
  static final int B_FLAGS = 2; // u16, bit 0: FLAG_SCALARS, no other bit defined in v1
  static final int B_DIMENSION = 4; // u32 d
  static final int B_ELL = 8; // u32 ℓ (0 for exact)
  static final int B_ROW_COUNT = 12; // u32 rows of B (0 for exact)
  static final int B_RANK = 16; // u32
  static final int B_WORLD_SIZE = 20; // u32
  static final int B_STEP = 24; // i64
  static final int B_WINDOW_ID = 32; // i64
  static final int B_TOKENS_SEEN = 40; // i64
  static final int B_CAPTURE_TIME = 48; // i64 epoch millis
  static final int B_SAMPLES_DROPPED = 56; // i64
  static final int B_COUNT = 64; // i64 n
  static final int B_NON_FINITE_ROWS = 72; // i64
  static final int B_STRINGS = 80; // run id (u16 length + UTF-8), layer (same), then payload
  static final int FIXED_BODY = B_STRINGS;

  /** Flag bit: a scalars section ({@link ScalarsSection}) follows the payload. */
  static final int FLAG_SCALARS = 0x0001;

  static final int KIND_EXACT = 1;
  static final int KIND_FD = 2;

  /**
   * A v1 addition: the sampled rows themselves, float32 (an older v1 decoder rejects the kind as
   * {@code bad_field}). {@code ell} is the sampler's capacity, {@code rowCount} the rows held and
   * equal to {@code count}; the payload is {@code seenRows} (i64), then the rows.
   */
  static final int KIND_SAMPLE = 3;

  /**
   * A v1 addition: the exact co-moment with its matrix in float32 (an older v1 decoder rejects the
   * kind as {@code bad_field}). {@code ell} and {@code rowCount} are 0 as for kind 1; the payload
   * is the mean (d × f64), then the upper triangle row by row (d(d+1)/2 × f32).
   */
  static final int KIND_EXACT32 = 4;

  /** Stage codes on the wire, independent of the enum's declaration order. */
  static final Stage[] STAGE_BY_CODE = {
    Stage.PRETRAIN, Stage.SFT, Stage.DPO, Stage.RLVR, Stage.OTHER
  };

  private WireLayout() {}

  static int stageCode(Stage stage) {
    for (int i = 0; i < STAGE_BY_CODE.length; i++) {
      if (STAGE_BY_CODE[i] == stage) {
        return i;
      }
    }
    throw new IllegalStateException("stage without wire code: " + stage);
  }
}
