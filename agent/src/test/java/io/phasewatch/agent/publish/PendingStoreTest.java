package io.phasewatch.agent.publish;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PendingStoreTest {
  private final List<String> drops = new ArrayList<>();

  private static Pending pending(long seq, int bytes) {
    return new Pending(seq, "r/l", List.of(new byte[bytes], new byte[] {(byte) seq}), 1);
  }

  @Test
  void memoryStoreEvictsTheOldestButNeverThePinnedHead() {
    var store = new MemoryStore(3, 1 << 20);
    store.append(pending(0, 10), drops::add);
    assertThat(store.peek(drops::add).sequence()).isZero(); // the sender holds 0
    for (long s = 1; s <= 5; s++) {
      store.append(pending(s, 10), drops::add);
    }
    assertThat(drops).containsExactly("buffer_full", "buffer_full", "buffer_full");
    List<Long> order = new ArrayList<>();
    for (Pending p; (p = store.peek(drops::add)) != null; ) {
      order.add(p.sequence());
      store.removeHead();
    }
    assertThat(order).containsExactly(0L, 4L, 5L);
    assertThat(store.bytes()).isZero();
  }

  @Test
  void memoryStoreRefusesASnapshotLargerThanTheWholeBuffer() {
    var store = new MemoryStore(10, 100);
    store.append(pending(0, 200), drops::add);
    assertThat(drops).containsExactly("too_large");
    assertThat(store.size()).isZero();
  }

  @Test
  void spoolResumesInOrderAfterReopeningAndContinuesTheSequence(@TempDir Path dir)
      throws Exception {
    var first = new SpoolStore(dir, 1 << 20);
    for (long s = 0; s < 4; s++) {
      first.append(pending(s, 100 + (int) s), drops::add);
    }
    var second = new SpoolStore(dir, 1 << 20);
    assertThat(second.size()).isEqualTo(4);
    assertThat(second.nextSequence()).isEqualTo(4);
    for (long s = 0; s < 4; s++) {
      Pending p = second.peek(drops::add);
      assertThat(p.sequence()).isEqualTo(s);
      assertThat(p.key()).isEqualTo("r/l");
      assertThat(p.chunks().get(0)).hasSize(100 + (int) s);
      assertThat(p.chunks().get(1)).containsExactly((byte) s);
      second.removeHead();
    }
    assertThat(drops).isEmpty();
    try (var files = Files.list(dir)) {
      assertThat(files.count()).isZero();
    }
  }

  @Test
  void corruptSpoolFileIsDroppedCountedAndSkipped(@TempDir Path dir) throws Exception {
    var store = new SpoolStore(dir, 1 << 20);
    store.append(pending(0, 50), drops::add);
    store.append(pending(1, 50), drops::add);
    Path first = dir.resolve(String.format("%020d.snap", 0));
    byte[] bytes = Files.readAllBytes(first);
    bytes[20] ^= 0x40;
    Files.write(first, bytes);
    var reopened = new SpoolStore(dir, 1 << 20);
    assertThat(reopened.peek(drops::add).sequence()).isEqualTo(1);
    assertThat(drops).containsExactly("spool_corrupt");
    assertThat(Files.exists(first)).isFalse();
  }

  @Test
  void spoolEvictsTheOldestFilesPastItsByteBound(@TempDir Path dir) throws Exception {
    int size = SpoolStore.serialize(pending(0, 1000)).length;
    var store = new SpoolStore(dir, 3L * size);
    for (long s = 0; s < 5; s++) {
      store.append(pending(s, 1000), drops::add);
    }
    assertThat(drops).containsExactly("buffer_full", "buffer_full");
    assertThat(store.peek(drops::add).sequence()).isEqualTo(2);
    assertThat(store.bytes()).isEqualTo(3L * size);
  }
}
