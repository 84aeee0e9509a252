package io.phasewatch.agent.publish;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * Pending snapshots as files in a directory, one per snapshot, named by sequence number so a
 * restarted agent resumes delivery in order. Bounded in bytes; only an index lives on the heap.
 *
 * <p>File layout (big-endian, {@link DataOutputStream}): magic {@code PWSP}, version 1, key (UTF),
 * chunk count, then per chunk its length and bytes, then the CRC32C of everything before it. Files
 * are written to a temporary name and moved into place atomically, so a crash leaves either the
 * whole file or none.
 */
final class SpoolStore implements PendingStore {
  private static final int MAGIC = 0x50575350; // "PWSP"
  private static final int VERSION = 1;
  private static final int MAX_CHUNKS = 1 << 16;
  private static final String SUFFIX = ".snap";

  private record Entry(long sequence, Path file, long bytes) {}

  private final Path dir;
  private final long maxBytes;
  private final ArrayDeque<Entry> index = new ArrayDeque<>();
  private long bytes;
  private long next;
  private Pending cachedHead;

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
      } catch (IOException | RuntimeException e) {
        index.removeFirst();
        bytes -= head.bytes();
        delete(head.file());
        dropped.drop(e instanceof NoSuchFileException ? "spool_missing" : "spool_corrupt");
      }
    }
    return null;
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
    var buf = new ByteArrayOutputStream((int) Math.min(Integer.MAX_VALUE - 64, p.bytes() + 64));
    try (var out = new DataOutputStream(buf)) {
      out.writeInt(MAGIC);
      out.writeInt(VERSION);
      out.writeUTF(p.key());
      out.writeInt(p.chunks().size());
      for (byte[] c : p.chunks()) {
        out.writeInt(c.length);
        out.write(c);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    byte[] body = buf.toByteArray();
    var crc = new CRC32C();
    crc.update(body);
    return ByteBuffer.allocate(body.length + 4)
        .order(ByteOrder.BIG_ENDIAN)
        .put(body)
        .putInt((int) crc.getValue())
        .array();
  }

  static Pending deserialize(long sequence, byte[] data) {
    if (data.length < 16) {
      throw new IllegalArgumentException("spool file of " + data.length + " bytes is truncated");
    }
    var crc = new CRC32C();
    crc.update(data, 0, data.length - 4);
    ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.BIG_ENDIAN);
    if ((int) crc.getValue() != b.getInt(data.length - 4)) {
      throw new IllegalArgumentException("spool file: bad CRC32C");
    }
    if (b.getInt() != MAGIC || b.getInt() != VERSION) {
      throw new IllegalArgumentException("spool file: bad magic or version");
    }
    int keyLength = Short.toUnsignedInt(b.getShort());
    if (keyLength > b.remaining() - 4) {
      throw new IllegalArgumentException("spool file: key length " + keyLength + " past the end");
    }
    byte[] keyBytes = new byte[keyLength];
    b.get(keyBytes);
    // writeUTF is modified UTF-8; keys are run/layer names without NUL, where it equals UTF-8.
    String key = new String(keyBytes, StandardCharsets.UTF_8);
    int count = b.getInt();
    if (count < 1 || count > MAX_CHUNKS) {
      throw new IllegalArgumentException(
          "spool file: chunk count " + count + " outside 1.." + MAX_CHUNKS);
    }
    List<byte[]> chunks = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int length = b.getInt();
      if (length < 0 || length > b.remaining() - 4) {
        throw new IllegalArgumentException(
            "spool file: chunk " + i + " length " + length + " past the end");
      }
      byte[] c = new byte[length];
      b.get(c);
      chunks.add(c);
    }
    return new Pending(sequence, key, chunks, 0);
  }
}
