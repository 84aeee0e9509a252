package io.phasewatch.agent.djl.attach;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/** A JVM of its own for a test: its output lines are collected as they come. */
public final class ChildJvm implements AutoCloseable {

  private final Process process;
  private final List<String> out = new CopyOnWriteArrayList<>();
  private final List<String> err = new CopyOnWriteArrayList<>();

  private ChildJvm(Process process) {
    this.process = process;
    pump(process.getInputStream(), out);
    pump(process.getErrorStream(), err);
  }

  /** {@code java [jvmArgs] -cp <test class path without the agent's own classes> main args}. */
  public static ChildJvm start(List<String> jvmArgs, String main, String... args)
      throws IOException {
    return start(jvmArgs, List.of(), main, args);
  }

  /** As {@link #start(List, String, String...)} with {@code extra} in front of the class path. */
  public static ChildJvm start(List<String> jvmArgs, List<Path> extra, String main, String... args)
      throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(java());
    cmd.add("-Dai.djl.offline=true");
    cmd.addAll(jvmArgs);
    cmd.add("-cp");
    List<String> cp = new ArrayList<>();
    extra.forEach(p -> cp.add(p.toAbsolutePath().toString()));
    cp.add(hostClassPath());
    cmd.add(String.join(File.pathSeparator, cp));
    cmd.add(main);
    cmd.addAll(List.of(args));
    var pb = new ProcessBuilder(cmd);
    pb.environment().put("OMP_NUM_THREADS", "1");
    return new ChildJvm(pb.start());
  }

  /** Runs {@code java -jar jar args} to completion; returns exit code and output. */
  public static ChildJvm runJar(Path jar, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(java(), "-jar", jar.toString()));
    cmd.addAll(List.of(args));
    return new ChildJvm(new ProcessBuilder(cmd).start());
  }

  static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /**
   * The test class path less phasewatch's own agent-side classes (core, agent, collector: their
   * target folders or jars): the host must see phasewatch only through the agent jar, as a real
   * training job does. This module's test classes stay (they hold the training program), and so
   * does the demo's model when the test runs in the demo module; DJL and everything else stays.
   */
  static String hostClassPath() {
    Path testClasses = Path.of("target", "test-classes").toAbsolutePath().normalize();
    String cp =
        List.of(System.getProperty("java.class.path").split(File.pathSeparator)).stream()
            .filter(
                e -> {
                  Path p = Path.of(e).toAbsolutePath().normalize();
                  return p.equals(testClasses) || !carriedByTheAgentJar(p);
                })
            .collect(Collectors.joining(File.pathSeparator));
    if (!cp.contains("pytorch-engine")) {
      throw new AssertionError("the test class path lacks DJL's PyTorch engine: " + cp);
    }
    return cp;
  }

  private static boolean carriedByTheAgentJar(Path entry) {
    return entry.toString().matches(".*/(core|agent|collector)/target/.*")
        || entry.getFileName().toString().matches("phasewatch-(core|agent|collector)-.*\\.jar");
  }

  /**
   * The shaded agent jar, built by {@code mvn package} before the ITs run: this module's, or the
   * agent module's beside it when the test runs in another module.
   */
  public static Path agentJar() {
    for (Path jar :
        List.of(
            Path.of("target", "phasewatch-agent.jar"),
            Path.of("..", "agent", "target", "phasewatch-agent.jar"))) {
      if (Files.isRegularFile(jar)) {
        return jar.toAbsolutePath().normalize();
      }
    }
    throw new AssertionError(
        "phasewatch-agent.jar is missing: the ITs run after `mvn package` (mvn verify)");
  }

  private static void pump(InputStream in, List<String> lines) {
    Thread t =
        new Thread(
            () -> {
              try (var r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                  lines.add(line);
                }
              } catch (IOException e) {
                lines.add("(stream closed: " + e + ")");
              }
            });
    t.setDaemon(true);
    t.start();
  }

  public long pid() {
    return process.pid();
  }

  public List<String> out() {
    return List.copyOf(out);
  }

  public List<String> err() {
    return List.copyOf(err);
  }

  public String transcript() {
    return "stdout:\n" + String.join("\n", out) + "\nstderr:\n" + String.join("\n", err);
  }

  /** Waits until a stdout line equals {@code line}; fails with the transcript otherwise. */
  public void awaitLine(String line, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!out.contains(line)) {
      if (!process.isAlive() || System.nanoTime() > deadline) {
        throw new AssertionError("no line '" + line + "' within " + timeout + "\n" + transcript());
      }
      Thread.sleep(50);
    }
  }

  /** Exit code, waiting at most {@code timeout}; fails with the transcript if it runs on. */
  public int exitCode(Duration timeout) throws InterruptedException {
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("still running after " + timeout + "\n" + transcript());
    }
    Thread.sleep(100); // let the pumps read the last lines
    return process.exitValue();
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroyForcibly();
    }
  }
}
