package io.phasewatch.agent.spool;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The names of spool files already handed to the publisher, one per line, appended and forced to
 * disk before the file is deleted or moved. A sidecar that stops between the two finds the name
 * here on restart and finishes the clean-up without publishing again. Entries whose file is gone
 * are dropped when the journal is opened and whenever it holds more than {@link #COMPACT_AT} lines,
 * so it stays as small as the set of files it protects.
 */
final class SpoolJournal implements AutoCloseable {

  /** Rewrite the journal once it holds this many names. */
  static final int COMPACT_AT = 4096;

  private final Path file;
  private final int compactAt;
  private final Set<String> names = new LinkedHashSet<>();
  private FileChannel out;
  private int lines;

  private SpoolJournal(Path file, int compactAt) {
    this.file = file;
    this.compactAt = compactAt;
  }

  /**
   * Opens (or creates) the journal, keeping only the names for which {@code stillThere} holds.
   * Lines that are not a complete entry (a torn last write) are ignored.
   */
  static SpoolJournal open(Path file, Predicate<String> stillThere) throws IOException {
    return open(file, stillThere, COMPACT_AT);
  }

  static SpoolJournal open(Path file, Predicate<String> stillThere, int compactAt)
      throws IOException {
    SpoolJournal j = new SpoolJournal(file, compactAt);
    if (Files.exists(file)) {
      String text = Files.readString(file, StandardCharsets.UTF_8);
      int start = 0;
      int nl;
      while ((nl = text.indexOf('\n', start)) >= 0) {
        String name = text.substring(start, nl);
        if (!name.isEmpty() && stillThere.test(name)) {
          j.names.add(name);
        }
        start = nl + 1;
      }
    }
    j.rewrite();
    return j;
  }

  boolean contains(String name) {
    return names.contains(name);
  }

  int size() {
    return names.size();
  }

  /** Records a published file; returns once the entry is on disk. */
  void add(String name, Predicate<String> stillThere) throws IOException {
    if (name.indexOf('\n') >= 0) {
      throw new IllegalArgumentException("journal: a name must not hold a line break");
    }
    if (lines >= compactAt) {
      names.removeIf(n -> !stillThere.test(n));
      rewrite();
    }
    names.add(name);
    var buf = java.nio.ByteBuffer.wrap((name + "\n").getBytes(StandardCharsets.UTF_8));
    while (buf.hasRemaining()) {
      out.write(buf);
    }
    out.force(false);
    lines++;
  }

  /** Forgets a name whose file has been cleaned up (the line goes at the next compaction). */
  void forget(String name) {
    names.remove(name);
  }

  private void rewrite() throws IOException {
    if (out != null) {
      out.close();
    }
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.write(tmp, List.copyOf(names), StandardCharsets.UTF_8);
    try (FileChannel c = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
      c.force(true);
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    out = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    lines = names.size();
  }

  @Override
  public void close() throws IOException {
    if (out != null) {
      out.close();
      out = null;
    }
  }
}
