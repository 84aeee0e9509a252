package io.phasewatch.core.arrays;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Reads every 2-D float matrix of a {@code .npy}, {@code .npz} or {@code .safetensors} file, by
 * extension. Element types: float32 and float64 in either byte order, float16 and bfloat16,
 * converted to float32; anything else, Fortran order, other ranks and sizes beyond the limits are
 * refused with an {@link ArrayFormatException} that names the problem.
 */
public final class MatrixFiles {

  /** numpy writes headers of a few hundred bytes; its own reader refuses beyond 10 000. */
  public static final int MAX_NPY_HEADER_BYTES = 65_536;

  public static final int MAX_SAFETENSORS_HEADER_BYTES = 16 << 20;

  public static final int MAX_COLUMNS = 1 << 20;

  public static final int MAX_NPZ_ENTRIES = 4096;

  private static final byte[] NPY_MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
  private static final Pattern DESCR =
      Pattern.compile("['\"]descr['\"]\\s*:\\s*['\"]([^'\"]*)['\"]");
  private static final Pattern FORTRAN =
      Pattern.compile("['\"]fortran_order['\"]\\s*:\\s*(True|False)");
  private static final Pattern SHAPE = Pattern.compile("['\"]shape['\"]\\s*:\\s*\\(([^)]*)\\)");

  private MatrixFiles() {}

  /** Visits each matrix of the file in file order (tensor data order for safetensors). */
  public static void read(Path file, MatrixVisitor visitor) throws IOException {
    String name = file.getFileName() == null ? "" : file.getFileName().toString();
    if (!Files.isRegularFile(file)) {
      throw Files.exists(file)
          ? new ArrayFormatException("not a regular file")
          : new NoSuchFileException(file.toString());
    }
    String lower = name.toLowerCase(java.util.Locale.ROOT);
    if (lower.endsWith(".npy")) {
      readNpyFile(file, name.substring(0, name.length() - 4), visitor);
    } else if (lower.endsWith(".npz")) {
      readNpz(file, visitor);
    } else if (lower.endsWith(".safetensors")) {
      readSafetensors(file, visitor);
    } else {
      throw new ArrayFormatException("unknown extension (expected .npy, .npz or .safetensors)");
    }
  }

  /** A whole matrix in memory, row-major. */
  public record Matrix(MatrixInfo info, double[] data) {
    public Matrix {
      data = data.clone();
    }

    @Override
    public double[] data() {
      return data.clone();
    }
  }

  /** Reads every matrix into memory; refuses a file holding more than {@code maxValues} values. */
  public static List<Matrix> readAll(Path file, long maxValues) throws IOException {
    List<Matrix> out = new ArrayList<>();
    long[] total = {0};
    read(
        file,
        (info, rows) -> {
          long values = info.rows() * info.cols();
          total[0] += values;
          if (total[0] > maxValues || values > Integer.MAX_VALUE - 8) {
            throw new ArrayFormatException(
                "holds more than " + maxValues + " values, the in-memory limit");
          }
          double[] data = new double[(int) values];
          int rowsPerBlock = (int) Math.max(1, Math.min(info.rows(), 1024));
          double[] block = new double[rowsPerBlock * info.cols()];
          int at = 0;
          int got;
          while ((got = rows.read(block, rowsPerBlock)) > 0) {
            System.arraycopy(block, 0, data, at, got * info.cols());
            at += got * info.cols();
          }
          out.add(new Matrix(info, data));
        });
    return out;
  }

  private record NpyHeader(
      String descr, ElementType type, ByteOrder order, long rows, int cols, long headerBytes) {
    long dataBytes() {
      return rows * cols * type.size;
    }
  }

  private static void readNpyFile(Path file, String name, MatrixVisitor visitor)
      throws IOException {
    long size = Files.size(file);
    if (size == 0) {
      throw new ArrayFormatException("empty file");
    }
    try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
      NpyHeader h = npyHeader(in, "");
      long available = size - h.headerBytes();
      if (available < h.dataBytes()) {
        throw new ArrayFormatException(
            "truncated: shape ("
                + h.rows()
                + ", "
                + h.cols()
                + ") of "
                + h.descr()
                + " needs "
                + h.dataBytes()
                + " data bytes, file has "
                + available);
      }
      visit(visitor, name, h, in, "");
    }
  }

  private static void readNpz(Path file, MatrixVisitor visitor) throws IOException {
    if (Files.size(file) == 0) {
      throw new ArrayFormatException("empty file");
    }
    ZipFile zip;
    try {
      zip = new ZipFile(file.toFile());
    } catch (ZipException e) {
      throw new ArrayFormatException("not a readable .npz (zip) archive: " + e.getMessage());
    }
    try (zip) {
      if (zip.size() > MAX_NPZ_ENTRIES) {
        throw new ArrayFormatException(
            "npz holds " + zip.size() + " entries, limit " + MAX_NPZ_ENTRIES);
      }
      if (zip.size() == 0) {
        throw new ArrayFormatException("npz holds no arrays");
      }
      Enumeration<? extends ZipEntry> entries = zip.entries();
      while (entries.hasMoreElements()) {
        ZipEntry e = entries.nextElement();
        String entry = e.getName();
        if (!entry.endsWith(".npy")) {
          throw new ArrayFormatException("npz entry '" + entry + "' is not an .npy array");
        }
        String where = "array '" + entry.substring(0, entry.length() - 4) + "': ";
        try (InputStream in = new BufferedInputStream(zip.getInputStream(e), 1 << 16)) {
          NpyHeader h = npyHeader(in, where);
          if (e.getSize() >= 0 && e.getSize() - h.headerBytes() < h.dataBytes()) {
            throw new ArrayFormatException(
                where
                    + "truncated: needs "
                    + h.dataBytes()
                    + " data bytes, entry has "
                    + (e.getSize() - h.headerBytes()));
          }
          visit(visitor, entry.substring(0, entry.length() - 4), h, in, where);
        } catch (ZipException ex) {
          throw new ArrayFormatException(where + "corrupt zip data: " + ex.getMessage());
        }
      }
    }
  }

  private static void visit(
      MatrixVisitor visitor, String name, NpyHeader h, InputStream in, String where)
      throws IOException {
    visitor.matrix(
        new MatrixInfo(name, h.rows(), h.cols(), h.descr()),
        new StreamRows(in, h.type(), h.order(), h.rows(), h.cols(), where));
  }

  /** Parses the .npy magic, version and header dict (format spec: numpy.lib.format, v1–v3). */
  private static NpyHeader npyHeader(InputStream in, String where) throws IOException {
    byte[] pre = in.readNBytes(8);
    if (pre.length < 8) {
      throw new ArrayFormatException(where + "truncated .npy header (" + pre.length + " bytes)");
    }
    for (int i = 0; i < NPY_MAGIC.length; i++) {
      if (pre[i] != NPY_MAGIC[i]) {
        throw new ArrayFormatException(where + "not an .npy array (bad magic)");
      }
    }
    int major = pre[6] & 0xff;
    long len;
    int lenBytes;
    if (major == 1) {
      byte[] b = in.readNBytes(2);
      lenBytes = 2;
      if (b.length < 2) {
        throw new ArrayFormatException(where + "truncated .npy header length");
      }
      len = (b[0] & 0xff) | (b[1] & 0xff) << 8;
    } else if (major == 2 || major == 3) {
      byte[] b = in.readNBytes(4);
      lenBytes = 4;
      if (b.length < 4) {
        throw new ArrayFormatException(where + "truncated .npy header length");
      }
      len = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt() & 0xffffffffL;
    } else {
      throw new ArrayFormatException(
          where + "unsupported .npy format version " + major + "." + (pre[7] & 0xff));
    }
    if (len > MAX_NPY_HEADER_BYTES) {
      throw new ArrayFormatException(
          where + ".npy header length " + len + " exceeds limit " + MAX_NPY_HEADER_BYTES);
    }
    byte[] hb = in.readNBytes((int) len);
    if (hb.length < len) {
      throw new ArrayFormatException(
          where + "truncated .npy header (" + hb.length + " of " + len + " bytes)");
    }
    String text = new String(hb, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
    Matcher descr = DESCR.matcher(text);
    Matcher fortran = FORTRAN.matcher(text);
    Matcher shape = SHAPE.matcher(text);
    if (!descr.find() || !fortran.find() || !shape.find()) {
      throw new ArrayFormatException(
          where
              + "unreadable .npy header (need descr, fortran_order and shape; structured dtypes"
              + " are not supported)");
    }
    String d = descr.group(1);
    ElementType type = ElementType.npyType(d);
    if (type == null) {
      throw new ArrayFormatException(
          where + "dtype '" + d + "' is not supported (float16, float32 or float64 only)");
    }
    if (fortran.group(1).equals("True")) {
      throw new ArrayFormatException(
          where + "fortran_order=True is not supported (save C order, e.g. np.ascontiguousarray)");
    }
    long[] dims = parseShape(shape.group(1), where);
    if (dims.length != 2) {
      throw new ArrayFormatException(
          where + "shape (" + shape.group(1).trim() + ") is not 2-D (need N x d)");
    }
    checkShape(dims, type, where);
    return new NpyHeader(
        d, type, ElementType.npyOrder(d), dims[0], (int) dims[1], 8 + lenBytes + len);
  }

  private static long[] parseShape(String s, String where) throws ArrayFormatException {
    List<Long> dims = new ArrayList<>();
    for (String part : s.split(",")) {
      String t = part.trim();
      if (t.isEmpty()) {
        continue;
      }
      if (t.endsWith("L")) {
        t = t.substring(0, t.length() - 1);
      }
      try {
        dims.add(Long.parseLong(t));
      } catch (NumberFormatException e) {
        throw new ArrayFormatException(where + "bad shape entry '" + t + "'");
      }
      if (dims.size() > 32) {
        throw new ArrayFormatException(where + "shape has more than 32 dimensions");
      }
    }
    return dims.stream().mapToLong(Long::longValue).toArray();
  }

  private static void checkShape(long[] dims, ElementType type, String where)
      throws ArrayFormatException {
    if (dims[0] < 0 || dims[1] < 0) {
      throw new ArrayFormatException(where + "negative shape");
    }
    if (dims[1] > MAX_COLUMNS) {
      throw new ArrayFormatException(
          where + "d = " + dims[1] + " columns exceeds limit " + MAX_COLUMNS);
    }
    try {
      Math.multiplyExact(Math.multiplyExact(dims[0], dims[1]), (long) type.size);
    } catch (ArithmeticException e) {
      throw new ArrayFormatException(where + "shape overflows 64-bit byte count");
    }
  }

  private static void readSafetensors(Path file, MatrixVisitor visitor) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size == 0) {
        throw new ArrayFormatException("empty file");
      }
      ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(ch, lenBuf, 0, "truncated safetensors header length");
      long len = lenBuf.flip().getLong();
      if (len < 2 || len > MAX_SAFETENSORS_HEADER_BYTES) {
        throw new ArrayFormatException(
            "safetensors header length "
                + Long.toUnsignedString(len)
                + " outside 2.."
                + MAX_SAFETENSORS_HEADER_BYTES);
      }
      if (8 + len > size) {
        throw new ArrayFormatException(
            "truncated: safetensors header length " + len + ", file has " + (size - 8));
      }
      ByteBuffer hb = ByteBuffer.allocate((int) len);
      readFully(ch, hb, 8, "truncated safetensors header");
      Object parsed = MiniJson.parse(new String(hb.array(), StandardCharsets.UTF_8));
      if (!(parsed instanceof Map<?, ?> header)) {
        throw new ArrayFormatException("safetensors header is not a JSON object");
      }
      long dataStart = 8 + len;
      long dataSize = size - dataStart;
      List<Tensor> tensors = new ArrayList<>();
      for (Map.Entry<?, ?> e : header.entrySet()) {
        String name = (String) e.getKey();
        if (name.equals("__metadata__")) {
          continue;
        }
        tensors.add(tensor(name, e.getValue(), dataSize));
      }
      if (tensors.isEmpty()) {
        throw new ArrayFormatException("safetensors file holds no tensors");
      }
      tensors.sort(Comparator.comparingLong(Tensor::begin));
      for (Tensor t : tensors) {
        String where = "tensor '" + t.name() + "': ";
        ch.position(dataStart + t.begin());
        InputStream in = new BufferedInputStream(Channels.newInputStream(ch), 1 << 16);
        visitor.matrix(
            new MatrixInfo(t.name(), t.rows(), t.cols(), t.dtype()),
            new StreamRows(in, t.type(), ByteOrder.LITTLE_ENDIAN, t.rows(), t.cols(), where));
      }
    }
  }

  private record Tensor(
      String name, String dtype, ElementType type, long rows, int cols, long begin) {}

  private static Tensor tensor(String name, Object spec, long dataSize)
      throws ArrayFormatException {
    String where = "tensor '" + name + "': ";
    if (!(spec instanceof Map<?, ?> m)
        || !(m.get("dtype") instanceof String dtype)
        || !(m.get("shape") instanceof List<?> shape)
        || !(m.get("data_offsets") instanceof List<?> offsets)
        || offsets.size() != 2
        || !(offsets.get(0) instanceof Long begin)
        || !(offsets.get(1) instanceof Long end)) {
      throw new ArrayFormatException(where + "needs dtype, shape and data_offsets [begin, end]");
    }
    ElementType type =
        switch (dtype) {
          case "F32" -> ElementType.F32;
          case "F64" -> ElementType.F64;
          case "F16" -> ElementType.F16;
          case "BF16" -> ElementType.BF16;
          default -> null;
        };
    if (type == null) {
      throw new ArrayFormatException(
          where + "dtype " + dtype + " is not supported (F32, F64, F16 or BF16 only)");
    }
    if (shape.size() != 2) {
      throw new ArrayFormatException(where + "shape " + shape + " is not 2-D (need N x d)");
    }
    long[] dims = new long[2];
    for (int i = 0; i < 2; i++) {
      if (!(shape.get(i) instanceof Long v)) {
        throw new ArrayFormatException(where + "shape " + shape + " is not integers");
      }
      dims[i] = v;
    }
    checkShape(dims, type, where);
    long need = dims[0] * dims[1] * type.size;
    if (begin < 0 || end < begin || end - begin != need) {
      throw new ArrayFormatException(
          where + "data_offsets [" + begin + ", " + end + "] do not hold " + need + " bytes");
    }
    if (end > dataSize) {
      throw new ArrayFormatException(
          where + "truncated: data ends at " + end + ", file has " + dataSize + " data bytes");
    }
    return new Tensor(name, dtype, type, dims[0], (int) dims[1], begin);
  }

  private static void readFully(FileChannel ch, ByteBuffer buf, long at, String problem)
      throws IOException {
    long pos = at;
    while (buf.hasRemaining()) {
      int n = ch.read(buf, pos);
      if (n < 0) {
        throw new ArrayFormatException(problem);
      }
      pos += n;
    }
  }

  /** Rows decoded from a byte stream; fails on a short read instead of returning garbage. */
  private static final class StreamRows implements RowReader {
    private final InputStream in;
    private final ElementType type;
    private final ByteOrder order;
    private final int cols;
    private final String where;
    private long remaining;
    private byte[] buf = new byte[0];

    StreamRows(
        InputStream in, ElementType type, ByteOrder order, long rows, int cols, String where) {
      this.in = in;
      this.type = type;
      this.order = order;
      this.remaining = rows;
      this.cols = cols;
      this.where = where;
    }

    @Override
    public int read(double[] block, int maxRows) throws IOException {
      if (cols == 0) {
        remaining = 0;
        return 0;
      }
      int n = (int) Math.min(remaining, maxRows);
      if (n <= 0) {
        return 0;
      }
      if ((long) n * cols > block.length) {
        throw new IllegalArgumentException(
            "block of " + block.length + " values cannot hold " + n + " rows of " + cols);
      }
      int bytes = Math.multiplyExact(n * cols, type.size);
      if (buf.length < bytes) {
        buf = new byte[bytes];
      }
      int got = in.readNBytes(buf, 0, bytes);
      if (got < bytes) {
        throw new ArrayFormatException(where + "truncated: data ends early");
      }
      type.decode(ByteBuffer.wrap(buf, 0, bytes).order(order), block, 0, n * cols);
      remaining -= n;
      return n;
    }
  }
}
