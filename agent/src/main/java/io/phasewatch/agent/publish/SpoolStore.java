package io.phasewatch.agent.publish;

import io.phasewatch.core.wire.WireBytes;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * Pending snapshots as files in a directory, one per snapshot, named by sequence number so a
 * restarted agent resumes delivery in order. Bounded in bytes; only an index lives on the heap.
 *
 * <p>The file layout is docs/send-buffer.md, little-endian like the wire format and written with
 * its helpers ({@link WireBytes}):
 *
 * <pre>
 * offset  size  field
 *      0     4  magic "PWSP"
 *      4     2  u16 version = 2
 *      6     2  u16 reserved = 0
 *      8     4  u32 chunk count n, 1..65536
 *     12   2+k  key: u16 length k + UTF-8 (the Kafka key, "run/layer")
 *      …        n × (u32 length L + L bytes: one wire-format record value, as sent)
 *    end     4  u32 CRC32C of every byte before it
 * </pre>
 *
 * Files are written to a temporary name and moved into place atomically, so a crash leaves either
 * the whole file or none. Files of the first layout (version 1, big-endian, before 0.1) are
 * refused, not read: the buffer is local and transient, so such a file is dropped, counted as
 * {@code spool_old_format} and logged once per directory.
 */
final class SpoolStore implements PendingStore {
  private static final Logger LOG = Logger.getLogger(SpoolStore.class.getName());

  /** "PWSP" in file order. */
  private static final int MAGIC = 0x50535750;

  private static final int VERSION = 2;
  private static final int O_MAGIC = 0;
  private static final int O_VERSION = 4;
  private static final int O_RESERVED = 6;
  private static final int O_CHUNK_COUNT = 8;
  private static final int O_KEY = 12;
  private static final int CRC_BYTES = 4;

  /** Bytes 4..7 of a version-1 file: its big-endian int version 1. */
  private static final int OLD_VERSION_FIELD = 0x01000000;

  private static final int MAX_CHUNKS = 1 << 16;
  private static final String SUFFIX = ".snap";

  /** A file in the first, big-endian layout. */
  static final class OldFormatException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    OldFormatException() {
      super("send-buffer file of layout version 1 (big-endian, before 0.1): not read");
    }
  }

  private record Entry(long sequence, Path file, long bytes) {}

  private final Path dir;
  private final long maxBytes;
  private final ArrayDeque<Entry> index = new ArrayDeque<>();
  private long bytes;
  private long next;
  private Pending cachedHead;
  private boolean oldFormatLogged;

  SpoolStore(Path dir, long maxBytes) throws IOException {
    this.dir = dir;
    this.maxBytes = maxBytes;
    Files.createDirectories(dir);
    List<Entry> found = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        String name = f.getFileName().toString();
        if (name.endsWith(".tmp")) {
          Files.deleteIfExists(f); // a write that never completed
        } else if (name.endsWith(SUFFIX)) {
          try {
            long seq = Long.parseLong(name.substring(0, name.length() - SUFFIX.length()));
            found.add(new Entry(seq, f, Files.size(f)));
          } catch (NumberFormatException e) {
            // Not ours: leave it alone.
          }
        }
      }
    }
    found.sort((a, b) -> Long.compare(a.sequence(), b.sequence()));
    for (Entry e : found) {
      index.addLast(e);
      bytes += e.bytes();
      next = e.sequence() + 1;
    }
  }

  @Override
  public void append(Pending p, DropCounter dropped) {
    byte[] data = serialize(p);
    if (data.length > maxBytes) {
      dropped.drop("too_large");
      return;
    }
    // The head is pinned while the sender holds it (cachedHead); evict the oldest after it.
    while (index.size() > (cachedHead != null ? 1 : 0) && bytes + data.length > maxBytes) {
      Entry pinned = cachedHead != null ? index.removeFirst() : null;
      Entry old = index.removeFirst();
      if (pinned != null) {
        index.addFirst(pinned);
      }
      bytes -= old.bytes();
      delete(old.file());
      dropped.drop("buffer_full");
    }
    Path file = dir.resolve(String.format("%020d%s", p.sequence(), SUFFIX));
    Path tmp = dir.resolve(file.getFileName() + ".tmp");
    try {
      Files.write(tmp, data);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      delete(tmp);
      throw new UncheckedIOException("spool " + dir + ": cannot write " + file.getFileName(), e);
    }
    index.addLast(new Entry(p.sequence(), file, data.length));
    bytes += data.length;
    next = Math.max(next, p.sequence() + 1);
  }

  @Override
  public Pending peek(DropCounter dropped) {
    while (!index.isEmpty()) {
      if (cachedHead != null) {
        return cachedHead;
      }
      Entry head = index.peekFirst();
      try {
        cachedHead = deserialize(head.sequence(), Files.readAllBytes(head.file()));
        return cachedHead;
      } catch (OldFormatException e) {
        if (!oldFormatLogged) {
          oldFormatLogged = true;
          LOG.warning(
              "phasewatch: the send buffer "
                  + dir
                  + " holds files of an earlier phasewatch's layout (version 1); they are"
                  + " dropped and counted as phasewatch.agent.snapshots.dropped"
                  + "{reason=spool_old_format}");
        }
        drop(head, dropped, "spool_old_format");
      } catch (IOException | RuntimeException e) {
        drop(head, dropped, e instanceof NoSuchFileException ? "spool_missing" : "spool_corrupt");
      }
    }
    return null;
  }

  private void drop(Entry head, DropCounter dropped, String reason) {
    index.removeFirst();
    bytes -= head.bytes();
    delete(head.file());
    dropped.drop(reason);
  }

  @Override
  public void removeHead() {
    Entry head = index.pollFirst();
    cachedHead = null;
    if (head != null) {
      bytes -= head.bytes();
      delete(head.file());
    }
  }

  @Override
  public int size() {
    return index.size();
  }

  @Override
  public long bytes() {
    return bytes;
  }

  @Override
  public long nextSequence() {
    return next;
  }

  private static void delete(Path f) {
    try {
      Files.deleteIfExists(f);
    } catch (IOException e) {
      // Nothing to do: the index has let go of it; a stray file is read as corrupt or ignored.
    }
  }

  static byte[] serialize(Pending p) {
    byte[] key = WireBytes.utf8(p.key(), "send-buffer key");
    long length = O_KEY + 2L + key.length + CRC_BYTES;
    for (byte[] c : p.chunks()) {
      length += 4L + c.length;
    }
    if (p.chunks().isEmpty() || p.chunks().size() > MAX_CHUNKS || length > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(
          "send-buffer file: " + p.chunks().size() + " chunks of " + length + " bytes");
    }
    ByteBuffer b = WireBytes.allocate((int) length);
    b.putInt(O_MAGIC, MAGIC);
    b.putShort(O_VERSION, (short) VERSION);
    b.putShort(O_RESERVED, (short) 0);
    b.putInt(O_CHUNK_COUNT, p.chunks().size());
    b.position(O_KEY);
    WireBytes.putString(b, key);
    for (byte[] c : p.chunks()) {
      b.putInt(c.length).put(c);
    }
    b.putInt(WireBytes.crc32c(b.array(), 0, b.position()));
    return b.array();
  }

  static Pending deserialize(long sequence, byte[] data) {
    ByteBuffer b = WireBytes.wrap(data);
    if (data.length >= O_CHUNK_COUNT
        && b.getInt(O_MAGIC) == MAGIC
        && b.getInt(O_VERSION) == OLD_VERSION_FIELD) {
      throw new OldFormatException();
    }
    if (data.length < O_KEY + 2 + 4 + CRC_BYTES) {
      throw new IllegalArgumentException(
          "send-buffer file of " + data.length + " bytes is truncated");
    }
    int end = data.length - CRC_BYTES;
    int stored = b.getInt(end);
    int actual = WireBytes.crc32c(data, 0, end);
    if (stored != actual) {
      throw new IllegalArgumentException(
          String.format("send-buffer file: CRC32C 0x%08x, computed 0x%08x", stored, actual));
    }
    if (b.getInt(O_MAGIC) != MAGIC) {
      throw new IllegalArgumentException(
          String.format("send-buffer file: magic 0x%08x is not 'PWSP'", b.getInt(O_MAGIC)));
    }
    int version = Short.toUnsignedInt(b.getShort(O_VERSION));
    if (version != VERSION || b.getShort(O_RESERVED) != 0) {
      throw new IllegalArgumentException(
          "send-buffer file: version "
              + version
              + " reserved "
              + b.getShort(O_RESERVED)
              + "; this agent reads version "
              + VERSION
              + " reserved 0");
    }
    long count = Integer.toUnsignedLong(b.getInt(O_CHUNK_COUNT));
    if (count < 1 || count > MAX_CHUNKS) {
      throw new IllegalArgumentException(
          "send-buffer file: chunk count " + count + " outside 1.." + MAX_CHUNKS);
    }
    b.position(O_KEY).limit(end);
    String key = WireBytes.getString(b, "send-buffer key");
    List<byte[]> chunks = new ArrayList<>((int) count);
    for (int i = 0; i < count; i++) {
      if (b.remaining() < 4) {
        throw new IllegalArgumentException("send-buffer file: ends before chunk " + i);
      }
      long length = Integer.toUnsignedLong(b.getInt());
      if (length > b.remaining()) {
        throw new IllegalArgumentException(
            "send-buffer file: chunk "
                + i
                + " of "
                + length
                + " bytes, "
                + b.remaining()
                + " left");
      }
      byte[] c = new byte[(int) length];
      b.get(c);
      chunks.add(c);
    }
    if (b.hasRemaining()) {
      throw new IllegalArgumentException(
          "send-buffer file: " + b.remaining() + " bytes after the last chunk");
    }
    return new Pending(sequence, key, chunks, 0);
  }
}
