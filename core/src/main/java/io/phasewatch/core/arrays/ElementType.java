package io.phasewatch.core.arrays;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** The floating-point element types read, with their byte order; everything else is refused. */
enum ElementType {
  F16(2),
  BF16(2),
  F32(4),
  F64(8);

  final int size;

  ElementType(int size) {
    this.size = size;
  }

  /**
   * Decodes {@code count} values from {@code buf} (already in the right byte order); each widens to
   * double exactly.
   */
  void decode(ByteBuffer buf, double[] out, int offset, int count) {
    switch (this) {
      case F32 -> {
        for (int i = 0; i < count; i++) {
          out[offset + i] = buf.getFloat();
        }
      }
      case F64 -> buf.asDoubleBuffer().get(out, offset, count);
      case F16 -> {
        for (int i = 0; i < count; i++) {
          out[offset + i] = halfToFloat(buf.getShort());
        }
      }
      case BF16 -> {
        for (int i = 0; i < count; i++) {
          out[offset + i] = Float.intBitsToFloat((buf.getShort() & 0xffff) << 16);
        }
      }
    }
  }

  /** IEEE 754 binary16 to binary32, subnormals, infinities and NaN included. */
  static float halfToFloat(short h) {
    int bits = h & 0xffff;
    int sign = (bits & 0x8000) << 16;
    int exp = (bits >>> 10) & 0x1f;
    int mant = bits & 0x3ff;
    if (exp == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    }
    if (exp == 0) {
      float v = mant * 0x1p-24f;
      return sign == 0 ? v : -v;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }

  /** The numpy descr of a supported type, e.g. {@code <f4}; null when unsupported. */
  static ByteOrder npyOrder(String descr) {
    if (descr.length() != 3) {
      return null;
    }
    return switch (descr.charAt(0)) {
      case '<' -> ByteOrder.LITTLE_ENDIAN;
      case '>' -> ByteOrder.BIG_ENDIAN;
      default -> null;
    };
  }

  static ElementType npyType(String descr) {
    if (npyOrder(descr) == null) {
      return null;
    }
    return switch (descr.substring(1)) {
      case "f2" -> F16;
      case "f4" -> F32;
      case "f8" -> F64;
      default -> null;
    };
  }
}
