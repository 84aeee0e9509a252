package io.phasewatch.agent.djl;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.listener.TrainingListenerAdapter;
import ai.djl.training.tracker.Tracker;
import io.phasewatch.agent.capture.CaptureSink;
import io.phasewatch.core.wire.TrainingScalars;
import java.util.Map;
import java.util.Objects;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A DJL {@code TrainingListener} that tells the agent where the run is and drives the taps: it
 * counts steps, epochs and tokens, calls {@link CaptureSink#stepEnded}, arms the {@code live} taps
 * for the steps their cadence hits, and runs the probe pass for the {@code probe} taps.
 *
 * <p>The loss handed to {@code stepEnded} is the one the training loop computed for the step, when
 * the loop passes a {@link BatchDataWithLoss} (as the demo's training loop and post-training stages
 * do); with a plain {@code BatchData} (DJL's {@code EasyTrain}) it is NaN. The agent averages the
 * finite ones over each window and sends the mean with the window's snapshots. The listener never
 * evaluates the loss itself: that would be a second softmax over the full logits on the training
 * thread every step.
 *
 * <p>The learning rate travels with the windows when the listener is given the optimiser's
 * learning-rate {@link Tracker} ({@link Builder#learningRate}): DJL's optimisers keep their tracker
 * private, so the listener cannot read it from the trainer. The value handed over for step s is
 * {@code tracker.getNewValue(s)}, the value a DJL optimiser with no {@code beginNumUpdate} uses for
 * its s-th update.
 *
 * <p>The probe pass is compute the trainer pays for, so it is measured against the step time (the
 * time between two batches, outside this listener). When the probe's share exceeds the overhead
 * budget (default 2 %), the probe cadence is stretched to fit it, once logged.
 *
 * <p>Nothing here throws into the trainer: a failing part logs once, is disabled, and counted.
 */
public final class PhasewatchTrainingListener extends TrainingListenerAdapter {

  private static final Logger LOG = Logger.getLogger(PhasewatchTrainingListener.class.getName());

  /** Step-time samples before the overhead is judged; the first steps are slow (JIT, allocator). */
  private static final int WARM_STEPS = 3;

  private final CaptureSink sink;
  private final LayerTaps taps;
  private final Block model;
  private final ProbeSet probe;
  private final int probeBatch;
  private final double overheadBudget;
  private final boolean stretchEnabled;
  private final Tracker learningRate;

  private long step;
  private int epoch;
  private long tokensSeen;
  private double lastLoss = Double.NaN;
  private long lastExit;
  private double stepNanos;
  private int stepSamples;
  private long lastProbeNanos;
  private long totalProbeNanos;
  private long denseUntil;
  private long firstEntered;
  private long stretch = 1;
  private boolean sinkDisabled;
  private boolean batchDisabled;
  private boolean probeDisabled;
  private boolean armDisabled;
  private boolean learningRateDisabled;
  private long failures;
  private long probesRun;

  private PhasewatchTrainingListener(Builder b) {
    this.sink = b.sink;
    this.taps = b.taps;
    this.model = b.model;
    this.probe = b.probe;
    this.probeBatch = b.probeBatch;
    this.overheadBudget = b.overheadBudget;
    this.stretchEnabled = b.stretch;
    this.learningRate = b.learningRate;
    this.step = b.startStep;
    this.denseUntil = b.denseUntil;
    if (b.denseUntil > 0) {
      taps.denseProbes(b.denseUntil, b.denseEvery);
    }
  }

  /**
   * A batch together with the loss the training loop already computed for it (mean over the batch,
   * in the loop's own unit: nats per token for next-token cross-entropy, a stage's own objective in
   * post-training). A loop that notifies the listeners with this instead of a plain {@code
   * BatchData} gives {@link CaptureSink#stepEnded} the real loss at no cost.
   */
  public static final class BatchDataWithLoss extends BatchData {
    private final double loss;

    public BatchDataWithLoss(
        Batch batch, Map<Device, NDList> labels, Map<Device, NDList> predictions, double loss) {
      super(batch, labels, predictions);
      this.loss = loss;
    }

    /** The step's training loss as the loop computed it; may be NaN or infinite if it diverged. */
    public double loss() {
      return loss;
    }
  }

  public static Builder builder(CaptureSink sink) {
    return new Builder(sink);
  }

  /** Settings of the listener; only the sink is required. */
  public static final class Builder {
    private final CaptureSink sink;
    private LayerTaps taps = LayerTaps.none();
    private Block model;
    private ProbeSet probe;
    private int probeBatch = 64;
    private double overheadBudget = 0.02;
    private boolean stretch = true;
    private long startStep;
    private long denseUntil;
    private long denseEvery = 1;
    private Tracker learningRate;

    private Builder(CaptureSink sink) {
      this.sink = Objects.requireNonNull(sink, "listener: sink");
    }

    /** The taps the model was built with. */
    public Builder taps(LayerTaps taps) {
      this.taps = Objects.requireNonNull(taps, "listener: taps");
      return this;
    }

    /** The model the probe runs through and this rank's probe set. */
    public Builder probe(Block model, ProbeSet probe) {
      this.model = Objects.requireNonNull(model, "listener: model");
      this.probe = Objects.requireNonNull(probe, "listener: probe set");
      return this;
    }

    /** Sequences per forward pass of the probe; bounds its memory. */
    public Builder probeBatch(int n) {
      if (n < 1 || n > 4_096) {
        throw new IllegalArgumentException("listener: probeBatch " + n + " outside [1, 4096]");
      }
      this.probeBatch = n;
      return this;
    }

    /** Largest share of the training time the probe may take before its cadence stretches. */
    public Builder overheadBudget(double share) {
      if (!(share > 0 && share <= 1)) {
        throw new IllegalArgumentException("listener: overheadBudget " + share + " outside (0, 1]");
      }
      this.overheadBudget = share;
      return this;
    }

    /**
     * Also probes every {@code every} steps up to step {@code untilStep}: the early phases are
     * short in steps, and the detector reads them on a log-step axis. Not subject to the budget.
     */
    public Builder denseProbesUntil(long untilStep, int every) {
      if (untilStep < 0 || every < 1) {
        throw new IllegalArgumentException(
            "listener: dense probes until step " + untilStep + " every " + every + " steps");
      }
      this.denseUntil = untilStep;
      this.denseEvery = every;
      return this;
    }

    /**
     * Whether the probe cadence stretches past the budget (default). Off, the probe runs at its
     * configured cadence whatever it costs: for experiments and tests that need exact probe steps.
     */
    public Builder stretchCadence(boolean on) {
      this.stretch = on;
      return this;
    }

    /**
     * The tracker the optimiser was built with ({@code optLearningRateTracker}); each step hands
     * its learning rate to the sink as {@value TrainingScalars#LEARNING_RATE}.
     */
    public Builder learningRate(Tracker tracker) {
      this.learningRate = Objects.requireNonNull(tracker, "listener: learning-rate tracker");
      return this;
    }

    /** Step count already done (a resumed run). */
    public Builder startStep(long s) {
      if (s < 0) {
        throw new IllegalArgumentException("listener: startStep " + s + " < 0");
      }
      this.startStep = s;
      return this;
    }

    public PhasewatchTrainingListener build() {
      if (taps.hasProbeTaps() && probe == null) {
        throw new IllegalArgumentException("listener: probe taps need probe(model, probeSet)");
      }
      return new PhasewatchTrainingListener(this);
    }
  }

  @Override
  public void onTrainingBegin(Trainer trainer) {
    arm(step + 1);
  }

  @Override
  public void onEpoch(Trainer trainer) {
    epoch++;
  }

  @Override
  public void onTrainingBatch(Trainer trainer, BatchData batchData) {
    long entered = System.nanoTime();
    if (firstEntered == 0) {
      firstEntered = entered;
    }
    if (lastExit != 0) {
      double sample = entered - lastExit;
      stepNanos = stepSamples == 0 ? sample : 0.9 * stepNanos + 0.1 * sample;
      stepSamples++;
    }
    step++;
    readBatch(batchData);
    if (!sinkDisabled) {
      try {
        handOverLearningRate();
        sink.stepEnded(step, tokensSeen, lastLoss);
      } catch (RuntimeException | LinkageError e) {
        sinkDisabled = true;
        fail("the sink's stepEnded", e);
      }
    }
    if (!probeDisabled && probe != null && taps.probeDue(step, stretch)) {
      long t0 = System.nanoTime();
      runProbe(trainer.getManager());
      lastProbeNanos = System.nanoTime() - t0;
      totalProbeNanos += lastProbeNanos;
      probesRun++;
      keepWithinBudget();
    }
    arm(step + 1);
    lastExit = System.nanoTime();
  }

  private void handOverLearningRate() {
    if (learningRate == null || learningRateDisabled) {
      return;
    }
    float lr;
    try {
      lr = learningRate.getNewValue((int) Math.min(step, Integer.MAX_VALUE));
    } catch (RuntimeException e) {
      learningRateDisabled = true;
      fail("reading the learning-rate tracker", e);
      return;
    }
    sink.recordScalar(TrainingScalars.LEARNING_RATE, lr);
  }

  private void readBatch(BatchData batchData) {
    lastLoss = batchData instanceof BatchDataWithLoss withLoss ? withLoss.loss() : Double.NaN;
    if (batchDisabled) {
      return;
    }
    try {
      NDList labels = batchData.getLabels().values().iterator().next();
      tokensSeen += labels.head().getShape().size();
    } catch (RuntimeException e) {
      batchDisabled = true;
      fail("counting the tokens of the batch", e);
    }
  }

  private void arm(long nextStep) {
    if (armDisabled) {
      return;
    }
    try {
      taps.armLive(nextStep);
    } catch (RuntimeException e) {
      armDisabled = true;
      fail("arming live taps", e);
    }
  }

  private void runProbe(NDManager parent) {
    try (NDManager m = parent.newSubManager()) {
      taps.beginProbe(step, stretch);
      ParameterStore ps = new ParameterStore(m, false);
      for (int from = 0; from < probe.size(); from += probeBatch) {
        int to = Math.min(probe.size(), from + probeBatch);
        try (NDManager chunk = m.newSubManager()) {
          NDArray x = chunk.create(probe.flatten(from, to), new Shape(to - from, probe.length()));
          taps.probeChunk(probe.lastIndices(from, to));
          model.forward(ps, new NDList(x), false);
        }
      }
      taps.endProbe();
    } catch (RuntimeException e) {
      taps.abortProbe();
      probeDisabled = true;
      fail("the probe pass", e);
    }
  }

  /**
   * Stretches the probe cadence so that {@code probe time / (cadence × step time)} stays within the
   * budget. Only ever stretches: a cadence that shrank back would flap with the noise of step
   * times.
   */
  private void keepWithinBudget() {
    // The dense early probes are exempt from the budget, and the engine's first passes (JIT,
    // allocator warm-up) are far slower than the steady ones: judging the cadence on them would
    // stretch it for the whole run.
    if (!stretchEnabled || stepSamples < WARM_STEPS || stepNanos <= 0 || step <= denseUntil) {
      return;
    }
    long every = taps.probeEverySteps();
    double overhead = lastProbeNanos / (every * stretch * stepNanos);
    if (overhead > overheadBudget) {
      long needed = (long) Math.ceil(lastProbeNanos / (overheadBudget * every * stepNanos));
      if (needed > stretch) {
        boolean first = stretch == 1;
        stretch = needed;
        Level level = first ? Level.INFO : Level.FINE;
        LOG.log(
            level,
            String.format(
                java.util.Locale.ROOT,
                "phasewatch: probe pass takes %.1f %% of training time (%.1f ms per probe, %.1f ms"
                    + " per step), over the %.1f %% budget; probing every %d steps instead of %d",
                100 * overhead,
                lastProbeNanos / 1e6,
                stepNanos / 1e6,
                100 * overheadBudget,
                every * stretch,
                every));
      }
    }
  }

  private void fail(String what, Throwable e) {
    failures++;
    LOG.log(Level.WARNING, "phasewatch: disabled " + what + " after a failure: " + e, e);
  }

  /**
   * From now on, also probes every {@code every} steps up to step {@code untilStep}, as {@link
   * Builder#denseProbesUntil} does for the start of a run: a new stage (SFT, DPO, RLVR) starts its
   * own log-step axis in the detector, so its start needs the same density. Call between steps, on
   * the training thread.
   */
  public void denseProbesUntil(long untilStep, int every) {
    if (untilStep < 0 || every < 1) {
      throw new IllegalArgumentException(
          "listener: dense probes until step " + untilStep + " every " + every + " steps");
    }
    taps.denseProbes(untilStep, every);
    denseUntil = untilStep;
  }

  public long step() {
    return step;
  }

  public int epoch() {
    return epoch;
  }

  public long tokensSeen() {
    return tokensSeen;
  }

  /**
   * The loss of the last step as the training loop handed it over in a {@link BatchDataWithLoss};
   * NaN before the first step and after a step whose loop did not hand it over.
   */
  public double lastLoss() {
    return lastLoss;
  }

  /**
   * Current probe cadence in steps (the configured one, stretched to the budget); 0 without probe.
   */
  public long probeEverySteps() {
    return taps.probeEverySteps() * stretch;
  }

  /** Probe passes run so far. */
  public long probesRun() {
    return probesRun;
  }

  /**
   * Share of the training time the last probe took at the current cadence; NaN before it is known.
   */
  public double probeOverhead() {
    long every = probeEverySteps();
    if (every == 0 || stepSamples == 0 || lastProbeNanos == 0) {
      return Double.NaN;
    }
    return lastProbeNanos / (every * stepNanos);
  }

  /**
   * Share of the wall time since the first batch spent in probe passes, dense early probes
   * included: what the trainer actually paid. NaN before the first batch ends.
   */
  public double probeTimeShare() {
    long elapsed = lastExit - firstEntered;
    return firstEntered == 0 || elapsed <= 0 ? Double.NaN : (double) totalProbeNanos / elapsed;
  }

  /** Parts disabled after a failure, here and in the taps. */
  public long failures() {
    return failures + taps.failures();
  }
}
