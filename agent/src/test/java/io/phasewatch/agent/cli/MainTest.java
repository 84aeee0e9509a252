package io.phasewatch.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {
  @TempDir Path tmp;

  @Test
  void helpAndUsageErrorsHaveTheirExitCodes() {
    assertThat(Main.run("--help")).isZero();
    assertThat(Main.run("watch", "--help")).isZero();
    assertThat(Main.run("watch")).as("--spool is required").isEqualTo(2);
    assertThat(Main.run("nonsense")).isEqualTo(2);
  }

  @Test
  void aBadConfigurationKeyExitsWithTwoAndStartsNothing() {
    assertThat(Main.run("watch", "--once", "--spool", tmp.toString(), "--set", "spool.colour=red"))
        .isEqualTo(2);
    assertThat(Files.exists(tmp.resolve(".phasewatch-journal"))).isFalse();
  }

  @Test
  void compressionCodecsThatNeedJniAreCheckedByClassPresence() {
    // On this (unshaded) class path zstd-jni and snappy-java are present, so they pass.
    WatchCommand.checkCompression("zstd");
    WatchCommand.checkCompression("snappy");
    WatchCommand.checkCompression("lz4");
    WatchCommand.checkCompression("none");
    WatchCommand.checkCompression(" ZSTD ");
  }
}
