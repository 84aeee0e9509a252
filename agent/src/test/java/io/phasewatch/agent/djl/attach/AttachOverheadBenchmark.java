package io.phasewatch.agent.djl.attach;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Step time of {@link PlainTrainer} in one JVM, side by side: before the agent, attached (every
 * step sampled, the worst case, then every 10th), each followed by {@code attach --detach}. Not
 * part of the default suites (its name matches neither); run it with
 *
 * <pre>
 * mvn -B -pl agent verify -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false \
 *   -Dit.test=AttachOverheadBenchmark
 * </pre>
 */
class AttachOverheadBenchmark {

  private static final int WARM_UP = 3_000;
  private static final int PHASE = 1_000;
  private static final int SETTLE = 100;

  @TempDir Path dir;

  @Test
  void stepTimeBeforeDuringAndAfterTheAgent() throws Exception {
    Path stop = dir.resolve("stop");
    try (var trainer =
        ChildJvm.start(
            List.of(), PlainTrainer.class.getName(), "10000000", stop.toString(), "0", "timing")) {
      trainer.awaitLine("ready", Duration.ofSeconds(120));
      // A long warm-up (JIT, allocator), then the baseline.
      long base0 = awaitStep(trainer, WARM_UP + PHASE) - PHASE;
      var rows = new ArrayList<String>();
      double base = median(trainer, base0, base0 + PHASE);
      rows.add(
          String.format(Locale.ROOT, "  %-34s %7.3f ms  1.00", "before the agent", base / 1e6));
      for (int every : new int[] {1, 10}) {
        long on0 = attached(trainer, every);
        double on = median(trainer, on0, on0 + PHASE);
        long off0 = detached(trainer);
        double off = median(trainer, off0, off0 + PHASE);
        rows.add(
            String.format(
                Locale.ROOT,
                "  %-34s %7.3f ms  %.2f",
                "attached, every-steps " + every,
                on / 1e6,
                on / base));
        rows.add(
            String.format(
                Locale.ROOT, "  %-34s %7.3f ms  %.2f", "after detach", off / 1e6, off / base));
      }
      Files.createFile(stop);
      assertThat(trainer.exitCode(Duration.ofSeconds(60))).isZero();
      System.out.printf(
          Locale.ROOT,
          "attach overhead (median step time of %d steps per phase, in this order; 2 blocks × 64"
              + " rows per sampled step; java %s, cores %d):%n%s%n",
          PHASE,
          System.getProperty("java.version"),
          Runtime.getRuntime().availableProcessors(),
          String.join("\n", rows));
    }
  }

  /** Attaches sampling every {@code every} steps; returns the first step of its phase. */
  private long attached(ChildJvm trainer, int every) throws Exception {
    Path config = dir.resolve("bench-" + every + ".yaml");
    Files.writeString(
        config,
        "run: bench\nsampling: {mode: live, every-steps: "
            + every
            + ", rows-per-step: 64}\nwindow: {steps: 50}\npublish: {enabled: false}\n");
    var attach =
        ChildJvm.runJar(
            ChildJvm.agentJar(),
            "attach",
            Long.toString(trainer.pid()),
            "--config",
            config.toString(),
            "--layers",
            "embed,hidden");
    assertThat(attach.exitCode(Duration.ofSeconds(60))).as(attach.transcript()).isZero();
    long from = lastStep(trainer) + SETTLE;
    awaitStep(trainer, from + PHASE);
    return from;
  }

  private long detached(ChildJvm trainer) throws Exception {
    var detach =
        ChildJvm.runJar(ChildJvm.agentJar(), "attach", Long.toString(trainer.pid()), "--detach");
    assertThat(detach.exitCode(Duration.ofSeconds(60))).as(detach.transcript()).isZero();
    long from = lastStep(trainer) + SETTLE;
    awaitStep(trainer, from + PHASE);
    return from;
  }

  private static long lastStep(ChildJvm trainer) {
    List<String> out = trainer.out();
    for (int i = out.size() - 1; i >= 0; i--) {
      if (out.get(i).startsWith("t ")) {
        return Long.parseLong(out.get(i).split(" ")[1]);
      }
    }
    return 0;
  }

  private static long awaitStep(ChildJvm trainer, long step) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
    while (lastStep(trainer) < step) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("step " + step + " not reached\n" + trainer.transcript());
      }
      Thread.sleep(20);
    }
    return step;
  }

  /** Median step time of steps {@code [from, to)}. */
  private static double median(ChildJvm trainer, long from, long to) {
    var times = new ArrayList<Long>();
    for (String line : trainer.out()) {
      if (line.startsWith("t ")) {
        String[] p = line.split(" ");
        long s = Long.parseLong(p[1]);
        if (s >= from && s < to) {
          times.add(Long.parseLong(p[2]));
        }
      }
    }
    long[] a = times.stream().mapToLong(Long::longValue).toArray();
    Arrays.sort(a);
    assertThat(a).hasSizeGreaterThan((int) (to - from) / 2);
    return a[a.length / 2];
  }
}
