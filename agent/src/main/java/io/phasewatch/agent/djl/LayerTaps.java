package io.phasewatch.agent.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.phasewatch.agent.capture.CaptureSink;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Pattern;

/**
 * Taps on named blocks of a model: each selected block is wrapped in a forwarding block that hands
 * rows of its output, {@code (B, T, d)}, to a {@link CaptureSink}. A tapped layer samples in one of
 * two modes:
 *
 * <ul>
 *   <li>{@code live}: every K steps, r rows of the training forward pass that runs anyway, at
 *       random token positions or the last token of each sequence; the cost is one device-to-host
 *       copy of r rows.
 *   <li>{@code probe}: every K steps the {@link PhasewatchTrainingListener} runs a fixed probe set
 *       through the model in inference mode and the tap keeps the last non-pad token of each
 *       sequence, as the study does; one {@code rows} call per layer and probe.
 * </ul>
 *
 * <p>All calls happen on the training thread. A tap that fails (a sink that throws, an engine
 * error) logs once, counts, and stops sampling; the forward pass it wraps is never affected.
 */
public final class LayerTaps {

  private static final Logger LOG = Logger.getLogger(LayerTaps.class.getName());

  /** Upper bound on rows one tap keeps for one probe: the probe set's size is capped by it. */
  static final int MAX_PROBE_ROWS = 65_536;

  /** How a tapped layer samples. */
  public enum Mode {
    LIVE,
    PROBE
  }

  /** Which rows a {@code live} tap takes from the training batch. */
  public enum RowChoice {
    RANDOM_TOKENS,
    LAST_TOKEN
  }

  /**
   * Selects blocks by glob ({@code *} within a dot-separated segment, {@code **} across segments)
   * and says how they sample. {@code rowsPerStep} and {@code rowChoice} only matter for {@code
   * live}.
   */
  public record Tap(String glob, Mode mode, int everySteps, int rowsPerStep, RowChoice rowChoice) {
    public Tap {
      Objects.requireNonNull(glob, "tap: glob");
      Objects.requireNonNull(mode, "tap: mode");
      Objects.requireNonNull(rowChoice, "tap: rowChoice");
      if (glob.isBlank()) {
        throw new IllegalArgumentException("tap: glob is blank");
      }
      if (everySteps < 1) {
        throw new IllegalArgumentException("tap " + glob + ": everySteps " + everySteps + " < 1");
      }
      if (rowsPerStep < 1 || rowsPerStep > MAX_PROBE_ROWS) {
        throw new IllegalArgumentException(
            "tap "
                + glob
                + ": rowsPerStep "
                + rowsPerStep
                + " outside [1, "
                + MAX_PROBE_ROWS
                + "]");
      }
    }

    public static Tap live(String glob, int everySteps, int rowsPerStep, RowChoice rowChoice) {
      return new Tap(glob, Mode.LIVE, everySteps, rowsPerStep, rowChoice);
    }

    public static Tap probe(String glob, int everySteps) {
      return new Tap(glob, Mode.PROBE, everySteps, 1, RowChoice.LAST_TOKEN);
    }

    boolean matches(String name) {
      return toRegex(glob).matcher(name).matches();
    }
  }

  private final CaptureSink sink;
  private final List<Tap> taps;
  private final Random rng;
  private final List<TapBlock> wrapped = new ArrayList<>();
  private long denseUntil;
  private long denseEvery = 1;
  private long failures;

  private LayerTaps(CaptureSink sink, List<Tap> taps, long seed) {
    this.sink = sink;
    this.taps = List.copyOf(taps);
    this.rng = new Random(seed);
  }

  /** Taps nothing; {@link #wrap} returns blocks unchanged. */
  public static LayerTaps none() {
    return new LayerTaps(null, List.of(), 0L);
  }

  /** Taps the blocks the {@code taps} select (the first matching tap wins for a block). */
  public static LayerTaps of(CaptureSink sink, long seed, List<Tap> taps) {
    Objects.requireNonNull(sink, "layer taps: sink");
    return new LayerTaps(sink, taps, seed);
  }

  /** Names of the blocks wrapped so far, in the order the model was built. */
  public List<String> tappedLayers() {
    return wrapped.stream().map(t -> t.name).toList();
  }

  /** Mode of a tapped layer. */
  public Mode modeOf(String layer) {
    return find(layer).tap.mode();
  }

  /** Taps that failed and stopped sampling. */
  public long failures() {
    return failures;
  }

  /**
   * Wraps {@code block} in a tap when a tap's glob selects {@code name}, or returns it unchanged: a
   * model that wants taps builds its layers through this call (the model's own code decides the
   * names the globs see).
   */
  public Block wrap(String name, Block block) {
    for (Tap tap : taps) {
      if (tap.matches(name)) {
        TapBlock t = new TapBlock(name, tap, block);
        wrapped.add(t);
        return t;
      }
    }
    return block;
  }

  /** Arms the live taps whose cadence hits {@code step} for the next training forward pass. */
  void armLive(long step) {
    for (TapBlock t : wrapped) {
      if (t.tap.mode() == Mode.LIVE && step % t.tap.everySteps() == 0) {
        t.liveStep = step;
      }
    }
  }

  boolean hasProbeTaps() {
    return wrapped.stream().anyMatch(t -> t.tap.mode() == Mode.PROBE && !t.disabled);
  }

  /**
   * Whether any probe tap is due at {@code step} with its cadence multiplied by {@code stretch}.
   */
  boolean probeDue(long step, long stretch) {
    for (TapBlock t : wrapped) {
      if (probeHits(t, step, stretch)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Probes every {@code every} steps up to {@code untilStep}, on top of each tap's own cadence. The
   * phases are read on a log-step axis, so the warmup collapse, over within a few hundred steps,
   * needs denser measurements early than the later phases do.
   */
  void denseProbes(long untilStep, long every) {
    if (untilStep < 0 || every < 1) {
      throw new IllegalArgumentException(
          "taps: dense probes until step " + untilStep + " every " + every + " steps");
    }
    this.denseUntil = untilStep;
    this.denseEvery = every;
  }

  private boolean probeHits(TapBlock t, long step, long stretch) {
    if (t.tap.mode() != Mode.PROBE || t.disabled) {
      return false;
    }
    return step % (t.tap.everySteps() * stretch) == 0
        || (step <= denseUntil && step % denseEvery == 0);
  }

  /** Smallest probe cadence, in steps, before stretching. */
  long probeEverySteps() {
    return wrapped.stream()
        .filter(t -> t.tap.mode() == Mode.PROBE)
        .mapToLong(t -> t.tap.everySteps())
        .min()
        .orElse(0);
  }

  void beginProbe(long step, long stretch) {
    for (TapBlock t : wrapped) {
      if (probeHits(t, step, stretch)) {
        t.probeStep = step;
        t.probeRows = 0;
      }
    }
  }

  /** Last non-pad positions of the sequences of the next probe chunk. */
  void probeChunk(int[] lastIndex) {
    for (TapBlock t : wrapped) {
      t.chunkLast = lastIndex;
    }
  }

  /** Hands each probing tap's rows to the sink and leaves probe mode. */
  void endProbe() {
    for (TapBlock t : wrapped) {
      if (t.probeStep >= 0) {
        long step = t.probeStep;
        t.probeStep = -1;
        t.chunkLast = null;
        if (!t.disabled && t.probeRows > 0) {
          t.deliver(step, t.probeBuffer, t.probeRows, t.dim);
        }
      }
    }
  }

  /** Leaves probe mode without delivering (the probe pass failed). */
  void abortProbe() {
    for (TapBlock t : wrapped) {
      t.probeStep = -1;
      t.chunkLast = null;
    }
  }

  private TapBlock find(String layer) {
    for (TapBlock t : wrapped) {
      if (t.name.equals(layer)) {
        return t;
      }
    }
    throw new IllegalArgumentException("layer taps: no tapped layer named '" + layer + "'");
  }

  static Pattern toRegex(String glob) {
    StringBuilder re = new StringBuilder();
    for (int i = 0; i < glob.length(); i++) {
      char c = glob.charAt(i);
      if (c == '*') {
        if (i + 1 < glob.length() && glob.charAt(i + 1) == '*') {
          re.append(".*");
          i++;
        } else {
          re.append("[^.]*");
        }
      } else if (c == '?') {
        re.append("[^.]");
      } else {
        re.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return Pattern.compile(re.toString());
  }

  /** Rows {@code flatIndex} of {@code out} viewed as {@code (B·T, d)}, copied to the host. */
  static float[] rowsAt(NDArray out, long[] flatIndex) {
    long d = out.getShape().get(out.getShape().dimension() - 1);
    NDArray flat = out.reshape(-1, d);
    NDArray index = out.getManager().create(flatIndex);
    return flat.get(index).toType(DataType.FLOAT32, false).toFloatArray();
  }

  private final class TapBlock extends AbstractBlock {
    private final String name;
    private final Tap tap;
    private final Block inner;
    private long liveStep = -1;
    private long probeStep = -1;
    private int[] chunkLast;
    private float[] probeBuffer = new float[0];
    private int probeRows;
    private int dim;
    private boolean disabled;

    TapBlock(String name, Tap tap, Block inner) {
      this.name = name;
      this.tap = tap;
      this.inner = addChildBlock("tapped", inner);
    }

    @Override
    protected NDList forwardInternal(
        ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
      NDList out = inner.forward(ps, inputs, training, params);
      if (!disabled && (liveStep >= 0 && training || probeStep >= 0 && !training)) {
        try {
          observe(out.head(), training);
        } catch (RuntimeException | LinkageError e) {
          fail("sampling", e);
        }
      }
      return out;
    }

    private void observe(NDArray out, boolean training) {
      Shape shape = out.getShape();
      int b = (int) shape.get(0);
      int t = (int) shape.get(1);
      int d = (int) shape.get(2);
      if (training) {
        long step = liveStep;
        liveStep = -1;
        long[] index = liveIndex(b, t);
        float[] rows = rowsAt(out, index);
        deliver(step, rows, index.length, d);
      } else if (chunkLast != null) {
        if (chunkLast.length != b) {
          throw new IllegalStateException(
              "probe chunk of " + b + " sequences, " + chunkLast.length + " last positions");
        }
        long[] index = new long[b];
        for (int i = 0; i < b; i++) {
          index[i] = (long) i * t + chunkLast[i];
        }
        float[] rows = rowsAt(out, index);
        int need = (probeRows + b) * d;
        if (probeRows + b > MAX_PROBE_ROWS) {
          throw new IllegalStateException(
              "probe of " + (probeRows + b) + " rows exceeds limit " + MAX_PROBE_ROWS);
        }
        if (probeBuffer.length < need) {
          probeBuffer = Arrays.copyOf(probeBuffer, Math.max(need, 2 * probeBuffer.length));
        }
        System.arraycopy(rows, 0, probeBuffer, probeRows * d, b * d);
        probeRows += b;
        dim = d;
      }
    }

    private long[] liveIndex(int b, int t) {
      int r = tap.rowsPerStep();
      if (tap.rowChoice() == RowChoice.LAST_TOKEN) {
        long[] index = new long[Math.min(r, b)];
        for (int i = 0; i < index.length; i++) {
          index[i] = (long) i * t + (t - 1);
        }
        return index;
      }
      int total = b * t;
      int n = Math.min(r, total);
      // Partial Fisher–Yates over the B·T positions: n distinct positions, uniform.
      int[] pos = new int[total];
      for (int i = 0; i < total; i++) {
        pos[i] = i;
      }
      long[] index = new long[n];
      for (int i = 0; i < n; i++) {
        int j = i + rng.nextInt(total - i);
        int tmp = pos[i];
        pos[i] = pos[j];
        pos[j] = tmp;
        index[i] = pos[i];
      }
      return index;
    }

    private void deliver(long step, float[] rows, int count, int d) {
      try {
        sink.rows(name, step, rows, count, d);
      } catch (RuntimeException | LinkageError e) {
        fail("sink", e);
      }
    }

    private void fail(String what, Throwable e) {
      disabled = true;
      failures++;
      LOG.log(
          Level.WARNING,
          "phasewatch: tap " + name + " disabled after a failure in " + what + ": " + e,
          e);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
      return inner.getOutputShapes(inputShapes);
    }

    @Override
    public void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
      inner.initialize(manager, dataType, inputShapes);
    }
  }
}
