package io.phasewatch.agent.core;

import static io.phasewatch.agent.metrics.AgentMetricNames.*;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.phasewatch.agent.capture.CaptureSink;
import io.phasewatch.agent.config.AgentConfig;
import io.phasewatch.agent.publish.KafkaSnapshotPublisher;
import io.phasewatch.agent.publish.SnapshotEncoder;
import io.phasewatch.agent.publish.SnapshotPublisher;
import io.phasewatch.core.sketch.CovarianceSketch;
import io.phasewatch.core.sketch.CovarianceSnapshot;
import io.phasewatch.core.wire.SnapshotMetadata;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.Stage;
import io.phasewatch.core.wire.TrainingScalars;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The agent as the training side sees it. {@link #rows} copies the rows into a bounded queue and
 * returns; one sketch thread folds them into each layer's sketch and closes windows, handing each
 * closed window to a {@link SnapshotPublisher}.
 *
 * <p>Windows: steps are numbered as the trainer counts them, from 1 (step s is the s-th
 * optimisation step; a run resumed after 5000 steps goes on with step 5001). In {@code live} mode a
 * window spans {@code window.steps} = K steps: window w holds the steps whose index {@code s − 1}
 * lies in {@code [wK, (w + 1)K)}, that is steps {@code wK + 1 … (w + 1)K}, and closes at the end of
 * step s when {@code s % K == 0}; every rank closes the same windows, and a checkpoint taken after
 * a multiple of K steps falls on a window boundary. In {@code probe} mode a window is one probe
 * pass and closes at the first step end after rows arrived. A stage change closes the open window
 * at the last finished step.
 *
 * <p>The window id is the last step a window covers (the step it closed at; a probe pass's step),
 * as the spool files' are: it derives from the trainer's step count, not from a counter of this
 * agent, so an agent restarted with a resumed trainer gives each window the id the uninterrupted
 * run would have, and ranks that see the same steps agree. Ids increase per (run, layer).
 *
 * <p>Nothing here throws into the caller: an internal failure is logged once, disables the part
 * that failed (a layer, publishing, or the whole agent) and is counted in {@code
 * phasewatch.agent.failures}.
 */
public final class PhasewatchAgent implements CaptureSink, AutoCloseable {
  private static final Logger LOG = Logger.getLogger(PhasewatchAgent.class.getName());

  private final AgentConfig config;
  private final MeterRegistry registry;
  private final SampleQueue queue;
  private final SketchFactory sketches;
  private final SnapshotPublisher publisher;
  private final Thread thread;
  private final ConcurrentHashMap<String, LayerCounters> counters = new ConcurrentHashMap<>();
  private final Map<String, LayerState> layers = new LinkedHashMap<>();
  private final Counter taken;
  private final Timer sketchTime;
  private final Counter windowsClosed;
  private final Map<String, Boolean> loggedFailures = new ConcurrentHashMap<>();
  private final Map<String, Counter> dropCounters = new ConcurrentHashMap<>();
  private final Map<String, Counter> scalarDrops = new ConcurrentHashMap<>();
  private volatile boolean active;
  private volatile boolean closed;

  // Sketch-thread state.
  private Stage stage;
  private long lastStep;
  private long tokensSeen;
  private boolean rowsInWindow;
  private long probeStep;
  private long probeTokens;
  private boolean publishing = true;
  private long nextSummaryNanos;
  private final ScalarWindow scalars = new ScalarWindow();

  /** A layer's sketch; owned by the sketch thread. */
  private static final class LayerState {
    final LayerCounters counters;
    final CovarianceSketch sketch;
    final int dim;
    long rows;

    LayerState(LayerCounters counters, CovarianceSketch sketch, int dim) {
      this.counters = counters;
      this.sketch = sketch;
      this.dim = dim;
    }
  }

  private PhasewatchAgent(
      AgentConfig config,
      MeterRegistry registry,
      SketchFactory sketches,
      SnapshotPublisher publisher,
      boolean start) {
    this.config = config;
    this.registry = registry;
    this.sketches = sketches;
    this.publisher = publisher;
    this.stage = config.stage();
    this.taken = Counter.builder(SAMPLES_TAKEN).baseUnit("rows").register(registry);
    this.sketchTime = Timer.builder(SKETCH_TIME).register(registry);
    this.windowsClosed = Counter.builder(WINDOWS_CLOSED).register(registry);
    if (start) {
      this.queue = new SampleQueue(config.queue().maxRows(), config.queue().maxBytes());
      Gauge.builder(QUEUE_ROWS, queue, SampleQueue::rows).baseUnit("rows").register(registry);
      Gauge.builder(QUEUE_BYTES, queue, SampleQueue::bytes).baseUnit("bytes").register(registry);
      this.thread = new Thread(this::run, "phasewatch-sketch-" + config.runId());
      thread.setDaemon(true);
      this.active = true;
      this.nextSummaryNanos = System.nanoTime() + config.summaryInterval().toNanos();
      thread.start();
    } else {
      this.queue = null;
      this.thread = null;
      this.active = false;
    }
  }

  /**
   * The agent with the standard sketches and a Kafka publisher of wire format v1; never throws (a
   * failure to start logs and returns a disabled agent).
   */
  public static PhasewatchAgent start(AgentConfig config, MeterRegistry registry) {
    return builder(config).meterRegistry(registry).start();
  }

  /** A builder for an agent with this configuration. */
  public static Builder builder(AgentConfig config) {
    return new Builder(config);
  }

  /** How an agent is put together; {@link #start()} never throws. */
  public static final class Builder {
    private final AgentConfig config;
    private MeterRegistry registry;
    private SketchFactory sketches;
    private Function<MeterRegistry, SnapshotPublisher> publisher;

    private Builder(AgentConfig config) {
      this.config = Objects.requireNonNull(config, "config");
    }

    /** Where the self-metrics go (default: a private {@link SimpleMeterRegistry}). */
    public Builder meterRegistry(MeterRegistry registry) {
      this.registry = registry;
      return this;
    }

    /** The summaries (default: {@link SketchFactory#standard()}). */
    public Builder sketches(SketchFactory sketches) {
      this.sketches = sketches;
      return this;
    }

    /**
     * Makes the publisher, given the agent's registry; called once, only for an enabled agent with
     * {@code publish.enabled} (default: a {@link KafkaSnapshotPublisher} of wire format v1).
     */
    public Builder publisher(Function<MeterRegistry, SnapshotPublisher> publisher) {
      this.publisher = publisher;
      return this;
    }

    private SnapshotPublisher kafka(MeterRegistry r) {
      try {
        return KafkaSnapshotPublisher.start(config.publish(), SnapshotEncoder.v1(), r);
      } catch (IOException e) {
        throw new UncheckedIOException(
            "phasewatch: cannot open the spool " + config.publish().spoolDir().orElse(null), e);
      }
    }

    /**
     * The agent, running; a disabled one (config {@code enabled: false}) starts no thread and
     * allocates no queue. A failure while starting logs, and returns a disabled agent.
     */
    public PhasewatchAgent start() {
      MeterRegistry r = registry == null ? new SimpleMeterRegistry() : registry;
      if (!config.enabled()) {
        return new PhasewatchAgent(config, r, sketches, null, false);
      }
      try {
        SketchFactory s = sketches == null ? SketchFactory.standard() : sketches;
        Function<MeterRegistry, SnapshotPublisher> make =
            publisher != null ? publisher : this::kafka;
        SnapshotPublisher p = config.publish().enabled() ? make.apply(r) : null;
        return new PhasewatchAgent(config, r, s, p, true);
      } catch (RuntimeException | Error e) {
        LOG.log(Level.SEVERE, "phasewatch: agent failed to start; running without it", e);
        failures(r, "start").increment();
        return new PhasewatchAgent(config, r, sketches, null, false);
      }
    }
  }

  /** True while the agent takes rows (false when disabled, closed or failed). */
  public boolean isActive() {
    return active;
  }

  /** The registry holding the self-metrics. */
  public MeterRegistry meterRegistry() {
    return registry;
  }

  /** Whether the agent's sketch thread exists (false for a disabled agent). */
  public boolean hasThread() {
    return thread != null;
  }

  // ---- training thread --------------------------------------------------------------------

  @Override
  public void rows(String layer, long step, float[] rows, int rowCount, int dim) {
    if (!active) {
      return;
    }
    try {
      if (layer == null
          || layer.isEmpty()
          || rows == null
          || rowCount < 1
          || dim < 1
          || (long) rowCount * dim > rows.length) {
        droppedRows(null, "bad_input", Math.max(rowCount, 0));
        return;
      }
      LayerCounters c = counters.get(layer);
      if (c == null) {
        if (counters.size() >= config.queue().maxLayers()) {
          droppedRows(null, "layer_limit", rowCount);
          return;
        }
        c = counters.computeIfAbsent(layer, LayerCounters::new);
      }
      if (c.failed) {
        droppedRows(c, "layer_failed", rowCount);
        return;
      }
      if (!queue.couldHold(rowCount, dim)) {
        droppedRows(c, "too_large", rowCount);
        return;
      }
      var event = new Event.Rows(c, step, Arrays.copyOf(rows, rowCount * dim), rowCount, dim);
      if (queue.offerRows(event)) {
        taken.increment(rowCount);
      } else {
        droppedRows(c, "queue_full", rowCount);
      }
    } catch (Throwable t) {
      fail("capture", t, true);
    }
  }

  @Override
  public void stepEnded(long step, long tokensSeen, double loss) {
    control(new Event.StepEnded(step, tokensSeen, loss));
  }

  /**
   * Records a training scalar for the open window: a name the user chooses ({@code
   * heldout.accuracy}, {@code eval_loss}) or {@value TrainingScalars#LEARNING_RATE}; the window
   * carries the latest value. The learning rate is a step's: recorded before a step's end (as
   * {@code PhasewatchTrainingListener} does), it goes with that step, like the loss. Any other name
   * goes with the window open when it is recorded: in {@code probe} mode, a value recorded after a
   * probe pass goes with that pass. Names are {@code [a-z][a-z0-9_.]*}, at most 64 characters, at
   * most {@value TrainingScalars#MAX_SCALARS} per run with the loss; {@value TrainingScalars#LOSS}
   * is the agent's own (the steps' loss, averaged). A bad name, a non-finite value or one name too
   * many is dropped and counted in {@code phasewatch.agent.scalars.dropped}, never thrown.
   */
  @Override
  public void recordScalar(String name, double value) {
    if (!active) {
      return;
    }
    try {
      String problem = TrainingScalars.nameProblem(name);
      if (problem != null) {
        droppedScalar("bad_name", problem);
      } else if (TrainingScalars.LOSS.equals(name)) {
        droppedScalar(
            "reserved_name", "'loss' is the steps' loss the training listener hands over");
      } else if (!Double.isFinite(value)) {
        droppedScalar("non_finite", "scalar '" + name + "' is " + value);
      } else {
        control(new Event.Scalar(name, value));
      }
    } catch (Throwable t) {
      fail("capture", t, true);
    }
  }

  private void droppedScalar(String reason, String why) {
    scalarDrops
        .computeIfAbsent(
            reason,
            k -> {
              LOG.warning("phasewatch: training scalar dropped (" + k + "): " + why);
              return Counter.builder(SCALARS_DROPPED).tag(TAG_REASON, k).register(registry);
            })
        .increment();
  }

  @Override
  public void stageChanged(Stage stage, long step) {
    if (stage != null) {
      control(new Event.StageChanged(stage, step));
    }
  }

  private void control(Event e) {
    if (!active) {
      return;
    }
    try {
      if (!queue.offerControl(e)) {
        Counter.builder(EVENTS_DROPPED).register(registry).increment();
      }
    } catch (Throwable t) {
      fail("capture", t, true);
    }
  }

  private void droppedRows(LayerCounters c, String reason, int rowCount) {
    if (c != null) {
      c.dropped.addAndGet(rowCount);
    }
    dropCounters
        .computeIfAbsent(
            reason,
            k ->
                Counter.builder(SAMPLES_DROPPED)
                    .baseUnit("rows")
                    .tag(TAG_REASON, k)
                    .register(registry))
        .increment(rowCount);
  }

  // ---- sketch thread ------------------------------------------------------------------------

  private void run() {
    try {
      while (true) {
        Event e = queue.poll(100, TimeUnit.MILLISECONDS);
        if (e == null) {
          if (closed) {
            break;
          }
        } else if (e instanceof Event.Rows r) {
          fold(r);
        } else if (e instanceof Event.StepEnded s) {
          lastStep = s.step();
          tokensSeen = s.tokensSeen();
          if (config.sampling().mode() == AgentConfig.Mode.LIVE) {
            scalars.stepEnded(s.loss());
            if (s.step() % config.window().steps() == 0) {
              closeWindow(s.step());
            }
          } else {
            // The probe pass ran after the previous step ended: this step belongs to the next
            // window.
            if (rowsInWindow) {
              closeProbeWindow();
            }
            scalars.stepEnded(s.loss());
          }
        } else if (e instanceof Event.Scalar sc) {
          if (!scalars.set(sc.name(), sc.value())) {
            droppedScalar(
                "name_limit",
                "'" + sc.name() + "' is one name more than " + TrainingScalars.MAX_SCALARS);
          }
        } else if (e instanceof Event.StageChanged c) {
          closeWindow(lastStep); // the window ends with the last step that finished
          stage = c.stage();
        } else if (e instanceof Event.Flush f) {
          if (rowsInWindow && config.sampling().mode() == AgentConfig.Mode.PROBE) {
            closeProbeWindow();
          } else if (rowsInWindow) {
            closeWindow(lastStep);
          }
          f.done().countDown();
        }
        summaryIfDue();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Throwable t) {
      fail("sketch-thread", t, true);
    }
  }

  private void fold(Event.Rows r) {
    LayerCounters c = r.layer();
    if (c.failed) {
      droppedRows(c, "layer_failed", r.rowCount());
      return;
    }
    LayerState s = layers.get(c.name);
    try {
      if (s == null) {
        var choice = config.sketch().choose(c.name, r.dim());
        CovarianceSketch sketch =
            switch (choice.kind()) {
              case EXACT -> sketches.exact(r.dim());
              case EXACT32 -> sketches.exact32(r.dim());
              case SAMPLE ->
                  sketches.rowSample(
                      config.sketch().sampleCapacity(config.worldSize(), r.dim()), r.dim());
              case FD -> sketches.frequentDirections(choice.fdRows(), r.dim());
            };
        s = new LayerState(c, sketch, r.dim());
        layers.put(c.name, s);
      }
      if (r.dim() != s.dim) {
        droppedRows(c, "dim_mismatch", r.rowCount());
        return;
      }
      long t0 = System.nanoTime();
      s.sketch.update(r.data(), r.rowCount());
      sketchTime.record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
      s.rows += r.rowCount();
      if (!rowsInWindow || r.step() > probeStep) {
        probeStep = r.step();
        probeTokens = tokensSeen;
      }
      rowsInWindow = true;
    } catch (RuntimeException | AssertionError e) {
      c.failed = true;
      layers.remove(c.name);
      fail("sketch", e, false);
    }
  }

  /**
   * A probe pass runs after its step ended (the training listener reports the step, then probes),
   * so the window carries the pass's step and tokens, not those of the step end that closed it.
   */
  private void closeProbeWindow() {
    long now = tokensSeen;
    tokensSeen = probeTokens;
    closeWindow(probeStep);
    tokensSeen = now;
  }

  /** Closes the open window at {@code step}, its last step and its id. */
  private void closeWindow(long step) {
    rowsInWindow = false;
    windowsClosed.increment();
    long now = System.currentTimeMillis();
    TrainingScalars windowScalars = scalars.snapshot();
    boolean handedOver = false;
    for (LayerState s : layers.values()) {
      if (s.rows == 0) {
        continue;
      }
      try {
        CovarianceSnapshot snapshot = s.sketch.snapshot();
        s.sketch.reset();
        s.rows = 0;
        var meta =
            new SnapshotMetadata(
                config.runId(),
                stage,
                config.rank(),
                config.worldSize(),
                s.counters.name,
                step,
                step,
                tokensSeen,
                now,
                s.counters.dropped.get());
        handOver(new SnapshotRecord(meta, snapshot, windowScalars));
        handedOver = true;
      } catch (RuntimeException | AssertionError e) {
        s.counters.failed = true;
        fail("sketch", e, false);
      }
    }
    // A window that sent nothing (no layer had rows) hands its scalars on to the next one.
    if (handedOver) {
      scalars.clear();
    }
    layers.values().removeIf(s -> s.counters.failed);
  }

  private void handOver(SnapshotRecord record) {
    if (publisher == null || !publishing) {
      snapshotsDropped(registry, publisher == null ? "publish_disabled" : "publish_failed")
          .increment();
      return;
    }
    try {
      publisher.publish(record);
    } catch (RuntimeException | Error e) {
      publishing = false;
      fail("publish", e, false);
    }
  }

  private void summaryIfDue() {
    long now = System.nanoTime();
    if (now - nextSummaryNanos < 0) {
      return;
    }
    nextSummaryNanos = now + config.summaryInterval().toNanos();
    LOG.info(summary());
  }

  /** The one-line summary logged every {@code summary-interval}. */
  public String summary() {
    double dropped =
        registry.find(SAMPLES_DROPPED).counters().stream().mapToDouble(Counter::count).sum();
    double snapshotsDropped =
        registry.find(SNAPSHOTS_DROPPED).counters().stream().mapToDouble(Counter::count).sum();
    Counter published = registry.find(WINDOWS_PUBLISHED).counter();
    Counter failures = registry.find(PUBLISH_FAILURES).counter();
    return String.format(
        "phasewatch agent run=%s stage=%s: rows taken %.0f, dropped %.0f; queue %d rows / %d bytes;"
            + " windows closed %.0f; layer snapshots published %.0f, dropped %.0f (one per tapped"
            + " layer and window); publish failures %.0f;"
            + " sketch time %.1f ms total",
        config.runId(),
        stage.label(),
        taken.count(),
        dropped,
        queue == null ? 0 : queue.rows(),
        queue == null ? 0 : queue.bytes(),
        windowsClosed.count(),
        published == null ? 0 : published.count(),
        snapshotsDropped,
        failures == null ? 0 : failures.count(),
        sketchTime.totalTime(TimeUnit.MILLISECONDS));
  }

  private void fail(String part, Throwable t, boolean disableAgent) {
    if (disableAgent) {
      active = false;
    }
    failures(registry, part).increment();
    if (loggedFailures.putIfAbsent(part, Boolean.TRUE) == null) {
      LOG.log(
          Level.SEVERE,
          "phasewatch: internal failure in "
              + part
              + (disableAgent ? "; the agent stops, training goes on" : "; that part is disabled"),
          t);
    }
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /**
   * Closes the open window, stops the sketch thread and gives the publisher up to {@code
   * drainTimeout} to deliver what is pending. Never throws.
   */
  public void close(Duration drainTimeout) {
    if (closed) {
      return;
    }
    boolean wasActive = active;
    active = false;
    try {
      if (thread != null) {
        if (wasActive) {
          var done = new CountDownLatch(1);
          if (queue.offerControl(new Event.Flush(done))) {
            done.await(drainTimeout.toMillis(), TimeUnit.MILLISECONDS);
          }
        }
        closed = true;
        thread.join(drainTimeout.toMillis() + 1_000);
      }
      closed = true;
      if (publisher != null) {
        publisher.close(drainTimeout);
      }
      if (thread != null) {
        LOG.info(summary());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException | Error e) {
      fail("close", e, false);
    }
  }

  @Override
  public void close() {
    close(Duration.ofSeconds(10));
  }
}
