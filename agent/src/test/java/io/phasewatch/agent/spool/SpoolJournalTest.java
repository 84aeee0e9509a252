package io.phasewatch.agent.spool;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpoolJournalTest {
  @TempDir Path tmp;

  @Test
  void aNameAddedIsThereAfterReopening() throws Exception {
    Path file = tmp.resolve(".journal");
    try (var j = SpoolJournal.open(file, k -> true)) {
      j.add("a", k -> true);
      j.add("b", k -> true);
    }
    try (var j = SpoolJournal.open(file, k -> true)) {
      assertThat(j.contains("a")).isTrue();
      assertThat(j.contains("b")).isTrue();
      assertThat(j.contains("c")).isFalse();
    }
  }

  @Test
  void namesWhoseFilesAreGoneAreDroppedOnOpen() throws Exception {
    Path file = tmp.resolve(".journal");
    try (var j = SpoolJournal.open(file, k -> true)) {
      j.add("kept", k -> true);
      j.add("gone", k -> true);
    }
    try (var j = SpoolJournal.open(file, k -> k.equals("kept"))) {
      assertThat(j.size()).isEqualTo(1);
    }
    assertThat(Files.readAllLines(file)).containsExactly("kept");
  }

  @Test
  void aTornLastLineIsIgnored() throws Exception {
    Path file = tmp.resolve(".journal");
    Files.writeString(file, "whole\nhal", StandardCharsets.UTF_8);
    try (var j = SpoolJournal.open(file, k -> true)) {
      assertThat(j.contains("whole")).isTrue();
      assertThat(j.contains("hal")).isFalse();
    }
  }

  @Test
  void theJournalStaysAsSmallAsTheFilesItProtects() throws Exception {
    Path file = tmp.resolve(".journal");
    Set<String> present = new HashSet<>();
    int compactAt = 64;
    try (var j = SpoolJournal.open(file, present::contains, compactAt)) {
      for (int i = 0; i < 3 * compactAt; i++) {
        String name = "f" + i;
        present.add(name);
        j.add(name, present::contains);
        // the file is cleaned up right after it is journaled, as the sidecar does
        present.remove(name);
        j.forget(name);
      }
      assertThat(j.size()).isZero();
    }
    assertThat(Files.readAllLines(file).size()).isLessThanOrEqualTo(compactAt);
  }
}
