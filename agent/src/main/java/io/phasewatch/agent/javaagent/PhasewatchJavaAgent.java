package io.phasewatch.agent.javaagent;

import io.phasewatch.agent.config.AgentConfig;
import io.phasewatch.agent.config.AgentConfigLoader;
import io.phasewatch.agent.djl.attach.DjlAttachment;
import io.phasewatch.core.config.ConfigException;
import java.lang.instrument.Instrumentation;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code Premain-Class} and {@code Agent-Class} of {@code phasewatch-agent.jar}. Parse the
 * argument, load the configuration, start; the work lives in {@link DjlAttachment}. A failure here
 * is logged and leaves the host running without the agent; the outcome is also left in the system
 * property {@value #STATUS_PROPERTY}, which the {@code attach} command reads back.
 */
public final class PhasewatchJavaAgent {

  /** System property of the host JVM holding the last outcome ({@code attached: …}, …). */
  public static final String STATUS_PROPERTY = "phasewatch.agent.status";

  private static final Logger LOG = Logger.getLogger(PhasewatchJavaAgent.class.getName());
  private static DjlAttachment current;

  private PhasewatchJavaAgent() {}

  public static void premain(String arg, Instrumentation inst) {
    start(arg, inst);
  }

  public static void agentmain(String arg, Instrumentation inst) {
    start(arg, inst);
  }

  private static synchronized void start(String arg, Instrumentation inst) {
    try {
      AgentArgs args = AgentArgs.parse(arg);
      if (current != null) {
        current.detach();
        current = null;
      }
      if (args.detach()) {
        status("detached");
        return;
      }
      String yaml =
          args.configFile().isPresent()
              ? Files.readString(args.configFile().get(), StandardCharsets.UTF_8)
              : "";
      AgentConfig config = AgentConfigLoader.load(yaml, System.getenv(), args.flags());
      current = DjlAttachment.install(inst, config);
      status(current.describe());
    } catch (ConfigException e) {
      // An operator's mistake: one line naming the key; the host runs on without the agent.
      LOG.severe("phasewatch: the Java agent did not start: " + e.getMessage());
      status("failed: " + e.getMessage());
    } catch (Throwable t) {
      // Never into the host: a Java agent that throws from premain aborts the JVM.
      LOG.log(
          Level.SEVERE, "phasewatch: the Java agent did not start; the host runs without it", t);
      status("failed: " + t);
    }
  }

  private static void status(String s) {
    try {
      System.setProperty(STATUS_PROPERTY, s);
    } catch (RuntimeException e) {
      LOG.log(Level.FINE, "phasewatch: cannot set " + STATUS_PROPERTY, e);
    }
  }
}
