package io.phasewatch.agent.djl.attach;

import static net.bytebuddy.matcher.ElementMatchers.hasSuperType;
import static net.bytebuddy.matcher.ElementMatchers.isInterface;
import static net.bytebuddy.matcher.ElementMatchers.isPublic;
import static net.bytebuddy.matcher.ElementMatchers.nameStartsWith;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.not;
import static net.bytebuddy.matcher.ElementMatchers.takesArgument;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.phasewatch.agent.config.AgentConfig;
import io.phasewatch.agent.core.PhasewatchAgent;
import io.phasewatch.agent.metrics.AgentMetricNames;
import java.lang.instrument.Instrumentation;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.Logger;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.agent.builder.ResettableClassFileTransformer;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.DynamicType;
import net.bytebuddy.utility.JavaModule;

/**
 * The agent inside a DJL training JVM: a {@link PhasewatchAgent} built from the configuration,
 * {@link TrainerTaps} feeding it, and the advice that connects DJL to them. Installing retransforms
 * {@code ai.djl.nn.AbstractBaseBlock}, {@code ai.djl.training.Trainer} and the engine's {@code
 * GradientCollector} (whose {@code backward} gets the step's loss) if they are loaded already
 * (attach) or instruments them as they load ({@code -javaagent}). {@link #detach} and any failure
 * in the instrumentation restore their original byte code, so the training runs as it did before.
 */
public final class DjlAttachment {

  private static final Logger LOG = Logger.getLogger(DjlAttachment.class.getName());

  static final String BLOCK = "ai.djl.nn.AbstractBaseBlock";
  static final String TRAINER = "ai.djl.training.Trainer";
  static final String GRADIENT_COLLECTOR = "ai.djl.training.GradientCollector";

  /** How long pending snapshots may take to reach the broker when the host exits or detaches. */
  static final Duration DRAIN = Duration.ofSeconds(5);

  private final Instrumentation inst;
  private final String runId;
  private final boolean enabled;
  private final java.util.List<String> globs;
  private final PhasewatchAgent agent;
  private final TrainerTaps taps;
  private final Set<String> instrumented = ConcurrentHashMap.newKeySet();
  private final Thread shutdownHook;
  private volatile ResettableClassFileTransformer transformer;
  private volatile boolean detached;

  private DjlAttachment(Instrumentation inst, AgentConfig config) {
    this.inst = inst;
    this.runId = config.runId();
    this.enabled = config.enabled();
    this.globs = config.sampling().taps();
    if (config.sampling().mode() != AgentConfig.Mode.LIVE) {
      throw new IllegalArgumentException(
          "agent config: the Java agent samples the training forward pass (sampling.mode live);"
              + " probe mode needs a probe set and runs under `watch --checkpoints`");
    }
    this.agent = PhasewatchAgent.start(config, new SimpleMeterRegistry());
    this.taps =
        new TrainerTaps(
            agent,
            config.sampling().taps(),
            config.sampling().everySteps(),
            config.sampling().rowsPerStep(),
            config.rank() * 0x9E3779B97F4A7C15L ^ config.runId().hashCode(),
            this::failed);
    this.shutdownHook = new Thread(() -> agent.close(DRAIN), "phasewatch-shutdown");
  }

  /**
   * Starts the agent and instruments DJL. Throws only for a configuration the Java agent cannot
   * serve; nothing it installs throws into the host afterwards.
   */
  public static DjlAttachment install(Instrumentation inst, AgentConfig config) {
    if (!inst.isRetransformClassesSupported()) {
      throw new IllegalStateException(
          "phasewatch: this JVM cannot retransform classes (Can-Retransform-Classes)");
    }
    var a = new DjlAttachment(inst, config);
    if (!a.agent.isActive()) {
      LOG.warning("phasewatch: the agent is disabled; DJL is left uninstrumented");
      return a;
    }
    Runtime.getRuntime().addShutdownHook(a.shutdownHook);
    Dispatch.install(a.taps);
    a.transformer = a.builder().installOn(inst);
    return a;
  }

  private AgentBuilder builder() {
    return new AgentBuilder.Default()
        .disableClassFormatChanges()
        .with(AgentBuilder.RedefinitionStrategy.RETRANSFORMATION)
        .with(AgentBuilder.InitializationStrategy.NoOp.INSTANCE)
        .with(AgentBuilder.TypeStrategy.Default.DECORATE)
        .with(new Report())
        .type(named(BLOCK))
        .transform(
            (builder, type, loader, module, domain) ->
                builder
                    .visit(
                        Advice.to(Advices.Forward.class)
                            .on(
                                named("forward")
                                    .and(isPublic())
                                    .and(takesArguments(4))
                                    .and(takesArgument(2, boolean.class))))
                    .visit(
                        Advice.to(Advices.ForwardWithLabels.class)
                            .on(
                                named("forward")
                                    .and(isPublic())
                                    .and(takesArguments(4))
                                    .and(takesArgument(2, named("ai.djl.ndarray.NDList"))))))
        .type(named(TRAINER))
        .transform(
            (builder, type, loader, module, domain) ->
                builder
                    .visit(Advice.to(Advices.TrainerForward.class).on(named("forward")))
                    .visit(Advice.to(Advices.Step.class).on(named("step").and(takesArguments(0))))
                    .visit(
                        Advice.to(Advices.Close.class).on(named("close").and(takesArguments(0)))))
        // The engines' gradient collectors (PtGradientCollector, …): backward gets the step's loss.
        .type(
            nameStartsWith("ai.djl.")
                .and(not(isInterface()))
                .and(hasSuperType(named(GRADIENT_COLLECTOR))))
        .transform(
            (builder, type, loader, module, domain) ->
                builder.visit(
                    Advice.to(Advices.Backward.class)
                        .on(named("backward").and(takesArguments(1)))));
  }

  /** Logs what was instrumented and any error Byte Buddy meets. */
  private final class Report extends AgentBuilder.Listener.Adapter {
    @Override
    public void onTransformation(
        TypeDescription type,
        ClassLoader loader,
        JavaModule module,
        boolean loaded,
        DynamicType dynamicType) {
      instrumented.add(type.getName());
      LOG.fine(() -> "phasewatch: instrumented " + type.getName());
    }

    @Override
    public void onError(
        String typeName, ClassLoader loader, JavaModule module, boolean loaded, Throwable t) {
      LOG.log(Level.WARNING, "phasewatch: cannot instrument " + typeName, t);
    }
  }

  /** One line for the {@code attach} command and the log. */
  public String describe() {
    if (transformer == null) {
      return enabled
          ? "disabled: the agent did not start (see the host's log)"
          : "disabled: the configuration says enabled: false";
    }
    return "attached: run "
        + runId
        + ", taps "
        + globs
        + ", sampling from the next trainer step; DJL classes instrumented now: "
        + instrumented;
  }

  /** The agent's sink; its meter registry holds the self-metrics. */
  public PhasewatchAgent agent() {
    return agent;
  }

  /** Names of the blocks tapped so far (empty until a trainer ran). */
  public java.util.List<String> tapped() {
    return taps.tapped();
  }

  /**
   * Removes the instrumentation (DJL's classes get their original byte code back), then closes the
   * agent, giving pending snapshots a few seconds. Never throws.
   */
  public synchronized void detach() {
    if (detached) {
      return;
    }
    detached = true;
    restore();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException | IllegalArgumentException e) {
      // The JVM is exiting (the hook runs anyway) or it was never added.
    }
    agent.close(DRAIN);
  }

  private void restore() {
    Dispatch.clear(taps);
    ResettableClassFileTransformer t = transformer;
    transformer = null;
    if (t != null) {
      try {
        t.reset(inst, AgentBuilder.RedefinitionStrategy.RETRANSFORMATION);
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "phasewatch: could not restore DJL's byte code", e);
      }
    }
  }

  /** A failure on the training thread: counted, and the byte code restored off that thread. */
  private void failed(String part, Throwable t) {
    AgentMetricNames.failures(agent.meterRegistry(), "instrumentation").increment();
    Dispatch.clear(taps);
    Thread restorer = new Thread(this::restore, "phasewatch-restore");
    restorer.setDaemon(true);
    restorer.start();
  }
}
