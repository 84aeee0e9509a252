package io.phasewatch.agent.djl.checkpoint;

import io.phasewatch.agent.djl.ProbeSet;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the fixed probe set of the checkpoint watcher from a file of token ids:
 *
 * <ul>
 *   <li>{@code .npy}: a 2-D array N×T of {@code <i8} or {@code <i4} in C order; every sequence has
 *       length T.
 *   <li>anything else: text, one sequence per line, token ids separated by blanks; empty lines and
 *       lines starting with {@code #} are skipped; shorter sequences are right-padded with {@code
 *       padToken} and their last real token is the one read out.
 * </ul>
 */
public final class ProbeTokens {

  /** Longest probe sequence accepted. */
  public static final int MAX_LENGTH = 8_192;

  /** Largest probe file read. */
  public static final long MAX_FILE_BYTES = 256L << 20;

  private static final Pattern NPY_HEADER =
      Pattern.compile(
          "\\{'descr':\\s*'([<>|=]?[a-z]\\d)',\\s*'fortran_order':\\s*(True|False),\\s*"
              + "'shape':\\s*\\((\\d+),\\s*(\\d+),?\\),?\\s*\\}");

  private ProbeTokens() {}

  /** The probe set in {@code file}. */
  public static ProbeSet read(Path file, int padToken) throws IOException {
    long size = Files.size(file);
    if (size > MAX_FILE_BYTES) {
      throw new IllegalArgumentException(
          "probe " + file + ": " + size + " bytes exceeds limit " + MAX_FILE_BYTES);
    }
    byte[] bytes = Files.readAllBytes(file);
    int[][] seqs =
        file.getFileName().toString().endsWith(".npy") ? npy(file, bytes) : text(file, bytes);
    return ProbeSet.of(seqs, padToken);
  }

  private static int[][] npy(Path file, byte[] bytes) {
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    if (bytes.length < 10 || b.get() != (byte) 0x93 || b.get() != 'N' || b.get() != 'U') {
      throw new IllegalArgumentException("probe " + file + ": not an .npy file (magic)");
    }
    b.position(6);
    int major = b.get() & 0xFF;
    b.get();
    int headerLen = major == 1 ? b.getShort() & 0xFFFF : b.getInt();
    if (headerLen < 0 || b.position() + headerLen > bytes.length) {
      throw new IllegalArgumentException("probe " + file + ": header length " + headerLen);
    }
    String header = new String(bytes, b.position(), headerLen, StandardCharsets.ISO_8859_1);
    Matcher m = NPY_HEADER.matcher(header.strip());
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "probe " + file + ": need a 2-D N×T array, header " + header.strip());
    }
    String descr = m.group(1);
    int width =
        switch (descr) {
          case "<i8" -> 8;
          case "<i4" -> 4;
          default ->
              throw new IllegalArgumentException(
                  "probe "
                      + file
                      + ": dtype "
                      + descr
                      + ", need <i8 or <i4 (little-endian integers)");
        };
    if (m.group(2).equals("True")) {
      throw new IllegalArgumentException("probe " + file + ": Fortran order, need C order");
    }
    long n = Long.parseLong(m.group(3));
    long t = Long.parseLong(m.group(4));
    checkShape(file, n, t);
    int data = b.position() + headerLen;
    if (bytes.length - data != n * t * width) {
      throw new IllegalArgumentException(
          "probe "
              + file
              + ": "
              + (bytes.length - data)
              + " data bytes, shape ("
              + n
              + ", "
              + t
              + ") needs "
              + n * t * width);
    }
    b.position(data);
    int[][] seqs = new int[(int) n][(int) t];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < t; j++) {
        long v = width == 8 ? b.getLong() : b.getInt();
        seqs[i][j] = token(file, v, i, j);
      }
    }
    return seqs;
  }

  private static int[][] text(Path file, byte[] bytes) {
    List<int[]> seqs = new ArrayList<>();
    String[] lines = new String(bytes, StandardCharsets.UTF_8).split("\n", -1);
    for (int ln = 0; ln < lines.length; ln++) {
      String line = lines[ln].strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String[] parts = line.split("\\s+");
      if (parts.length > MAX_LENGTH) {
        throw new IllegalArgumentException(
            "probe "
                + file
                + " line "
                + (ln + 1)
                + ": "
                + parts.length
                + " tokens exceeds limit "
                + MAX_LENGTH);
      }
      int[] seq = new int[parts.length];
      for (int j = 0; j < parts.length; j++) {
        long v;
        try {
          v = Long.parseLong(parts[j]);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException(
              "probe " + file + " line " + (ln + 1) + ": '" + parts[j] + "' is not a token id");
        }
        seq[j] = token(file, v, seqs.size(), j);
      }
      seqs.add(seq);
      checkShape(file, seqs.size(), seq.length);
    }
    if (seqs.isEmpty()) {
      throw new IllegalArgumentException("probe " + file + ": no sequences");
    }
    return seqs.toArray(new int[0][]);
  }

  private static void checkShape(Path file, long n, long t) {
    if (n < 1 || n > 65_536 || t < 1 || t > MAX_LENGTH) {
      throw new IllegalArgumentException(
          "probe "
              + file
              + ": shape ("
              + n
              + ", "
              + t
              + ") outside [1, 65536] × [1, "
              + MAX_LENGTH
              + "]");
    }
  }

  private static int token(Path file, long v, int i, int j) {
    if (v < 0 || v > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "probe " + file + ": token " + v + " at (" + i + ", " + j + ") is not a token id");
    }
    return (int) v;
  }
}
