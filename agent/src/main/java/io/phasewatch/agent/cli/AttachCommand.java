package io.phasewatch.agent.cli;

import com.sun.tools.attach.VirtualMachine;
import io.phasewatch.agent.javaagent.AgentArgs;
import io.phasewatch.agent.javaagent.PhasewatchJavaAgent;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code attach PID}: loads this jar as a Java agent into a running JVM (the JDK Attach API), which
 * then taps its DJL trainer from the next step on. {@code --detach} removes it again.
 */
@Command(
    name = "attach",
    mixinStandardHelpOptions = true,
    description = {
      "Attaches the agent to a running DJL training JVM; it taps the named blocks from the next"
          + " step on, without a change to the training program. See docs/attach.md."
    })
final class AttachCommand implements Callable<Integer> {

  @Parameters(index = "0", paramLabel = "PID", description = "process id of the training JVM")
  String pid;

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description = "agent YAML (run, sampling, window, sketch, publish, kafka)")
  Path config;

  @Option(
      names = "--layers",
      paramLabel = "GLOB",
      split = ",",
      description = "blocks to tap, by name or glob (sampling.taps), e.g. 'layer*,final_norm'")
  List<String> layers;

  @Option(
      names = "--set",
      paramLabel = "KEY=VALUE",
      description = "any agent configuration key, e.g. --set window.steps=50 (repeatable)")
  Map<String, String> set = new LinkedHashMap<>();

  @Option(names = "--detach", description = "stop the agent in that JVM and restore DJL's classes")
  boolean detach;

  @Option(
      names = "--agent-jar",
      paramLabel = "JAR",
      description = "the agent jar to load (default: the jar this command runs from)")
  Path agentJar;

  @Override
  public Integer call() throws Exception {
    Path jar = agentJar != null ? agentJar : ownJar();
    if (jar == null || !Files.isRegularFile(jar)) {
      System.err.println(
          "phasewatch-agent attach: run it as java -jar phasewatch-agent.jar, or give --agent-jar");
      return 2;
    }
    String arg;
    if (detach) {
      arg = new AgentArgs(Optional.empty(), Map.of(), true).format();
    } else {
      Map<String, String> flags = new LinkedHashMap<>(set);
      if (layers != null && !layers.isEmpty()) {
        flags.put("sampling.taps", String.join(",", layers));
      }
      Optional<Path> file = Optional.ofNullable(config).map(p -> p.toAbsolutePath().normalize());
      if (file.isPresent() && !Files.isReadable(file.get())) {
        System.err.println("phasewatch-agent attach: cannot read --config " + file.get());
        return 2;
      }
      arg = new AgentArgs(file, flags, false).format();
    }
    VirtualMachine vm = VirtualMachine.attach(pid);
    try {
      vm.loadAgent(jar.toAbsolutePath().toString(), arg);
      String status = vm.getSystemProperties().getProperty(PhasewatchJavaAgent.STATUS_PROPERTY);
      System.out.println("phasewatch-agent attach " + pid + ": " + status);
      return status != null && (status.startsWith("attached") || status.startsWith("detached"))
          ? 0
          : 1;
    } finally {
      vm.detach();
    }
  }

  private static Path ownJar() throws URISyntaxException {
    var source = AttachCommand.class.getProtectionDomain().getCodeSource();
    if (source == null) {
      return null;
    }
    Path p = Path.of(source.getLocation().toURI());
    return p.toString().endsWith(".jar") ? p : null;
  }
}
