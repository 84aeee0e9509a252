package io.phasewatch.core.wire;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * The primitives phasewatch's binary formats share: the wire format (docs/wire-format.md) and the
 * agent's send-buffer files (docs/send-buffer.md). Little-endian throughout, whatever the platform;
 * strings as a u16 byte length and strict UTF-8; checksums CRC32C (Castagnoli).
 */
public final class WireBytes {

  /** The longest string a u16 length prefix can carry, in UTF-8 bytes. */
  public static final int MAX_STRING_BYTES = 0xFFFF;

  private WireBytes() {}

  /** A little-endian buffer of {@code capacity} bytes. */
  public static ByteBuffer allocate(int capacity) {
    return ByteBuffer.allocate(capacity).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** {@code bytes} as a little-endian buffer. */
  public static ByteBuffer wrap(byte[] bytes) {
    return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** The u32 at {@code at}, as the unsigned value it is. */
  public static long u32(ByteBuffer b, int at) {
    return Integer.toUnsignedLong(b.getInt(at));
  }

  /** CRC32C of {@code length} bytes from {@code from}, as the u32 the formats store. */
  public static int crc32c(byte[] bytes, int from, int length) {
    CRC32C crc = new CRC32C();
    crc.update(bytes, from, length);
    return (int) crc.getValue();
  }

  /** The UTF-8 bytes of {@code s}; refuses what a u16 length cannot carry. */
  public static byte[] utf8(String s, String field) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    if (b.length > MAX_STRING_BYTES) {
      throw new IllegalArgumentException(
          field + " of " + b.length + " UTF-8 bytes exceeds " + MAX_STRING_BYTES);
    }
    return b;
  }

  /** Writes {@code utf8} (from {@link #utf8}) as u16 length + bytes. */
  public static void putString(ByteBuffer b, byte[] utf8) {
    b.putShort((short) utf8.length).put(utf8);
  }

  /**
   * Reads a u16 length + strict UTF-8 string at the buffer's position.
   *
   * @throws IllegalArgumentException naming {@code field} when the length runs past the buffer's
   *     limit or the bytes are not UTF-8
   */
  public static String getString(ByteBuffer b, String field) {
    int length;
    try {
      length = Short.toUnsignedInt(b.getShort());
    } catch (BufferUnderflowException e) {
      throw new IllegalArgumentException(field + ": ends before its length");
    }
    if (length > b.remaining()) {
      throw new IllegalArgumentException(
          field + " of " + length + " bytes, " + b.remaining() + " left");
    }
    ByteBuffer slice = b.slice(b.position(), length);
    b.position(b.position() + length);
    try {
      return strictUtf8(slice);
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException(field + " is not UTF-8");
    }
  }

  /**
   * The remaining bytes of {@code bytes} as UTF-8, refusing malformed input instead of replacing
   * it.
   */
  public static String strictUtf8(ByteBuffer bytes) throws CharacterCodingException {
    return StandardCharsets.UTF_8
        .newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT)
        .decode(bytes)
        .toString();
  }
}
