package io.phasewatch.collector.ops;

import static org.assertj.core.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the real command-line tools (promtool, amtool, node). A missing tool fails the test with the
 * command that installs it: these checks are part of the build, never skipped.
 */
final class Tool {

  /** What a finished command printed (stdout and stderr together) and its exit status. */
  record Result(int exitCode, String output) {}

  private Tool() {}

  static Path require(String name, String install) {
    String path = System.getenv("PATH");
    if (path != null) {
      for (String dir : path.split(File.pathSeparator)) {
        Path candidate = Path.of(dir, name);
        if (Files.isExecutable(candidate)) {
          return candidate;
        }
      }
    }
    return fail(
        "%s is not on the PATH; the ops checks need it. Install it with: %s (or run .ci/run)",
        name, install);
  }

  static Path promtool() {
    return require("promtool", "sudo apt-get install -y prometheus");
  }

  static Path amtool() {
    return require("amtool", "sudo apt-get install -y prometheus-alertmanager");
  }

  static Result run(Path workDir, long timeoutSeconds, List<String> command) {
    try {
      Path log = Files.createTempFile("phasewatch-tool", ".log");
      try {
        Process p =
            new ProcessBuilder(command)
                .directory(workDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          return fail("%s did not finish within %d s", command, timeoutSeconds);
        }
        return new Result(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
      } finally {
        Files.deleteIfExists(log);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
