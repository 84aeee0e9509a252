package io.phasewatch.agent.cli;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.phasewatch.agent.config.AgentConfig;
import io.phasewatch.agent.config.AgentConfigLoader;
import io.phasewatch.agent.core.PhasewatchAgent;
import io.phasewatch.agent.djl.ProbeSet;
import io.phasewatch.agent.djl.checkpoint.CheckpointWatcher;
import io.phasewatch.agent.djl.checkpoint.ProbeTokens;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Option;

/**
 * {@code watch --checkpoints DIR --probe FILE}: the checkpoint watcher's options and run. Needs DJL
 * (api, pytorch-engine, pytorch-jni and a pytorch-native jar) on the class path, which the agent
 * jar does not carry: {@code java -cp phasewatch-agent.jar:DJL/* io.phasewatch.agent.cli.Main watch
 * --checkpoints …}.
 */
final class CheckpointOptions {

  @Option(
      names = "--checkpoints",
      paramLabel = "DIR",
      description = "watch DIR for TorchScript checkpoints named …step=N….pt (docs/attach.md)")
  Path dir;

  @Option(
      names = "--probe",
      paramLabel = "FILE",
      description = "token ids of the fixed probe set: .npy N×T int64/int32, or text lines")
  Path probe;

  @Option(
      names = "--method",
      paramLabel = "NAME",
      description = "an exported TorchScript method returning the hidden states (default forward)")
  String method;

  @Option(
      names = "--layers",
      paramLabel = "GLOB",
      split = ",",
      description = "outputs to publish by name or glob (default: all of shape (N,T,d) or (N,d))")
  List<String> layers = List.of();

  @Option(
      names = "--pad-token",
      paramLabel = "ID",
      defaultValue = "0",
      description = "token that right-pads shorter text probe lines (${DEFAULT-VALUE})")
  int padToken;

  @Option(
      names = "--poll",
      paramLabel = "SECONDS",
      defaultValue = "2",
      description = "how often DIR is listed (${DEFAULT-VALUE})")
  long pollSeconds;

  boolean requested() {
    return dir != null;
  }

  /** Runs the watcher; the agent's keys come from {@code yaml}, env and {@code flags}. */
  int run(String yaml, Map<String, String> flags, boolean once, Duration drain, PrintStream err)
      throws IOException, InterruptedException {
    if (probe == null) {
      err.println("phasewatch-agent watch: --checkpoints needs --probe FILE");
      return 2;
    }
    AgentConfig config;
    ProbeSet probeSet;
    try {
      var all = new LinkedHashMap<>(flags);
      // One window per checkpoint: the probe pass, closed at its step.
      all.put("sampling.mode", "probe");
      config = AgentConfigLoader.load(yaml, System.getenv(), all);
      probeSet = ProbeTokens.read(probe, padToken);
    } catch (IllegalArgumentException e) {
      err.println("phasewatch-agent watch: " + e.getMessage());
      return 2;
    } catch (java.io.IOException e) {
      err.println("phasewatch-agent watch: probe file " + probe + ": " + e);
      return 2;
    }
    var registry = new SimpleMeterRegistry();
    PhasewatchAgent agent = PhasewatchAgent.start(config, registry);
    CheckpointWatcher watcher;
    try {
      watcher =
          CheckpointWatcher.builder(dir, probeSet, agent)
              .layers(layers)
              .method(method)
              .build(registry);
    } catch (NoClassDefFoundError e) {
      agent.close(drain);
      err.println(
          "phasewatch-agent watch: --checkpoints needs DJL on the class path (ai.djl:api,"
              + " ai.djl.pytorch:pytorch-engine, pytorch-jni, pytorch-native-*); run java -cp"
              + " 'phasewatch-agent.jar:DJL_JARS/*' io.phasewatch.agent.cli.Main watch … ("
              + e.getMessage()
              + " is missing)");
      return 2;
    } catch (IllegalArgumentException e) {
      agent.close(drain);
      err.println("phasewatch-agent watch: " + e.getMessage());
      return 2;
    }
    if (once) {
      watcher.scanOnce();
      agent.close(drain);
      return 0;
    }
    var stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  watcher.close();
                  agent.close(drain);
                  stopped.countDown();
                },
                "phasewatch-shutdown"));
    watcher.run(Duration.ofSeconds(Math.max(1, pollSeconds)));
    stopped.await();
    return 0;
  }

  static String readYaml(Path config) throws IOException {
    return config == null ? "" : Files.readString(config, StandardCharsets.UTF_8);
  }
}
