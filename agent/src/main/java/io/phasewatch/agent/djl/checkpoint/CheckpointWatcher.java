package io.phasewatch.agent.djl.checkpoint;

import static io.phasewatch.agent.metrics.AgentMetricNames.*;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.phasewatch.agent.capture.CaptureSink;
import io.phasewatch.agent.config.Globs;
import io.phasewatch.agent.djl.ProbeSet;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Watches a folder for TorchScript checkpoints ({@link CheckpointName}) and, for each one with a
 * step above the last one done, runs the probe set through it and hands the last-token hidden state
 * of every probe sequence, per selected output, to the sink with the checkpoint's step; then ends
 * that step, which closes the window (the sink runs in probe mode).
 *
 * <p>Java cannot hook into a TorchScript module, so the hidden states must be what it returns:
 * {@code forward} (or the exported method {@code method}) returns a tensor, a tuple or list, or a
 * dict of them, nested as may be. Outputs are named by their path: tuple and list items by index,
 * dict entries by key, joined with dots ({@code (logits, hidden)} gives {@code 0} and {@code 1};
 * {@code {"layers.0": h}} gives {@code layers.0}); a bare tensor is {@code output}. An output of
 * shape {@code (N, T, d)} contributes row {@code lastIndex(i)} of each sequence, one of shape
 * {@code (N, d)} its rows as they are; other shapes are skipped.
 *
 * <p>State is one number, the highest step done: a checkpoint written after a later one is skipped.
 * A checkpoint that fails (it does not load, its outputs do not fit) is logged, counted and not
 * retried.
 */
public final class CheckpointWatcher implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(CheckpointWatcher.class.getName());

  /** Output tensors looked at per checkpoint; a module that returns more is cut off there. */
  static final int MAX_OUTPUTS = 1_024;

  private final Path dir;
  private final ProbeSet probe;
  private final CaptureSink sink;
  private final List<String> layers;
  private final Optional<String> method;
  private final int batch;
  private final Counter done;
  private final Counter failed;
  private final Counter skipped;
  private final Set<String> warned = ConcurrentHashMap.newKeySet();
  private long lastStep = -1;
  private volatile boolean closed;

  private CheckpointWatcher(Builder b, MeterRegistry registry) {
    this.dir = b.dir;
    this.probe = b.probe;
    this.sink = b.sink;
    this.layers = List.copyOf(b.layers);
    this.method = Optional.ofNullable(b.method);
    this.batch = b.batch;
    this.done = Counter.builder(CHECKPOINTS_PROCESSED).register(registry);
    this.failed = Counter.builder(CHECKPOINT_FAILURES).register(registry);
    this.skipped = Counter.builder(CHECKPOINTS_SKIPPED).register(registry);
  }

  public static Builder builder(Path dir, ProbeSet probe, CaptureSink sink) {
    return new Builder(dir, probe, sink);
  }

  /** Settings of a watcher; the folder, the probe set and the sink are required. */
  public static final class Builder {
    private final Path dir;
    private final ProbeSet probe;
    private final CaptureSink sink;
    private List<String> layers = List.of();
    private String method;
    private int batch = 64;

    private Builder(Path dir, ProbeSet probe, CaptureSink sink) {
      this.dir = Objects.requireNonNull(dir, "checkpoints: dir");
      this.probe = Objects.requireNonNull(probe, "checkpoints: probe");
      this.sink = Objects.requireNonNull(sink, "checkpoints: sink");
    }

    /** Outputs to publish, by name or glob ({@code *}: any characters); empty: all that fit. */
    public Builder layers(List<String> globs) {
      this.layers = List.copyOf(globs);
      return this;
    }

    /** An exported TorchScript method to call instead of {@code forward}. */
    public Builder method(String name) {
      if (name != null && !name.matches("[A-Za-z_][A-Za-z0-9_]{0,127}")) {
        throw new IllegalArgumentException("checkpoints: method '" + name + "' is not a name");
      }
      this.method = name;
      return this;
    }

    /** Probe sequences per forward pass; bounds the memory of one pass. */
    public Builder batch(int n) {
      if (n < 1 || n > 4_096) {
        throw new IllegalArgumentException("checkpoints: batch " + n + " outside [1, 4096]");
      }
      this.batch = n;
      return this;
    }

    public CheckpointWatcher build(MeterRegistry registry) {
      if (!Files.isDirectory(dir)) {
        throw new IllegalArgumentException("checkpoints: " + dir + " is not a directory");
      }
      return new CheckpointWatcher(this, registry);
    }
  }

  /**
   * Processes, in step order, the checkpoints now in the folder whose step is above the last one
   * done; returns how many were processed.
   */
  public int scanOnce() throws IOException {
    TreeMap<Long, Path> found = new TreeMap<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
      for (Path f : files) {
        String name = f.getFileName().toString();
        Optional<CheckpointName> parsed = CheckpointName.parse(name);
        if (parsed.isEmpty()) {
          if (CheckpointName.looksLikeCheckpoint(name) && warned.add(name)) {
            skipped.increment();
            LOG.warning("phasewatch: " + f + " carries no step=N in its name; skipped");
          }
          continue;
        }
        long step = parsed.get().step();
        if (step > lastStep && Files.isRegularFile(f)) {
          found.merge(step, f, (a, b) -> a.compareTo(b) <= 0 ? a : b);
        } else if (step < lastStep && warned.add(name)) {
          skipped.increment();
          LOG.warning(
              "phasewatch: "
                  + f
                  + " has step "
                  + step
                  + " ≤ "
                  + lastStep
                  + ", already done; skipped");
        }
      }
    }
    int n = 0;
    for (var e : found.entrySet()) {
      if (closed) {
        break;
      }
      process(e.getValue(), e.getKey());
      lastStep = e.getKey();
      n++;
    }
    return n;
  }

  /** Scans every {@code poll} until {@link #close}d. */
  public void run(Duration poll) throws InterruptedException {
    while (!closed) {
      try {
        scanOnce();
      } catch (IOException e) {
        if (warned.add("io:" + e.getMessage())) {
          LOG.log(Level.WARNING, "phasewatch: cannot list " + dir + "; retrying", e);
        }
      }
      Thread.sleep(poll.toMillis());
    }
  }

  /** Highest step done so far, -1 before the first. */
  public long lastStep() {
    return lastStep;
  }

  private void process(Path file, long step) {
    long t0 = System.nanoTime();
    try {
      Map<String, float[]> rows = probe(file);
      sink.stepEnded(step, 0, Double.NaN);
      for (var e : rows.entrySet()) {
        float[] r = e.getValue();
        sink.rows(e.getKey(), step, r, probe.size(), r.length / probe.size());
      }
      // The step end after the rows closes the probe window and stamps it with this step.
      sink.stepEnded(step, 0, Double.NaN);
      done.increment();
      LOG.info(
          String.format(
              java.util.Locale.ROOT,
              "phasewatch: checkpoint %s (step %d): %s over %d probe sequences in %.0f ms",
              file.getFileName(),
              step,
              rows.keySet(),
              probe.size(),
              (System.nanoTime() - t0) / 1e6));
    } catch (RuntimeException | IOException | ModelNotFoundException | MalformedModelException e) {
      failed.increment();
      LOG.log(Level.WARNING, "phasewatch: checkpoint " + file + " failed; not retried", e);
    }
  }

  /** Rows per selected output: {@code N × d}, row-major. */
  private Map<String, float[]> probe(Path file)
      throws IOException, ModelNotFoundException, MalformedModelException {
    Criteria<NDList, NDList> criteria =
        Criteria.builder()
            .setTypes(NDList.class, NDList.class)
            .optModelPath(file)
            .optEngine("PyTorch")
            .build();
    Map<String, float[]> out = new LinkedHashMap<>();
    Map<String, Integer> dims = new LinkedHashMap<>();
    try (ZooModel<NDList, NDList> model = criteria.loadModel();
        NDManager manager = model.getNDManager().newSubManager()) {
      if (!(model.getBlock() instanceof PtSymbolBlock block)) {
        throw new IllegalArgumentException(
            "checkpoint " + file + ": not a TorchScript module (block " + model.getBlock() + ")");
      }
      int n = probe.size();
      int t = probe.length();
      for (int from = 0; from < n; from += batch) {
        int to = Math.min(n, from + batch);
        try (NDManager chunk = manager.newSubManager()) {
          long[] flat = new long[(to - from) * t];
          for (int i = from; i < to; i++) {
            int[] seq = probe.sequence(i);
            for (int j = 0; j < t; j++) {
              flat[(i - from) * t + j] = seq[j];
            }
          }
          PtNDArray tokens = (PtNDArray) chunk.create(flat, new Shape(to - from, t));
          Map<String, NDArray> outputs = new LinkedHashMap<>();
          try (IValue in = IValue.from(tokens);
              IValue result =
                  method.isPresent()
                      ? IValueUtils.runMethod(block, method.get(), in)
                      : block.forward(in)) {
            flatten("", result, (PtNDManager) chunk, outputs);
          }
          for (var e : outputs.entrySet()) {
            String name = e.getKey();
            if (!layers.isEmpty() && layers.stream().noneMatch(g -> Globs.matches(g, name))) {
              continue;
            }
            float[] rows = lastRows(name, e.getValue(), from, to, t);
            if (rows == null) {
              continue;
            }
            int d = rows.length / (to - from);
            Integer known = dims.putIfAbsent(name, d);
            if (known != null && known != d) {
              throw new IllegalArgumentException(
                  "checkpoint "
                      + file
                      + ": output "
                      + name
                      + " changed width "
                      + known
                      + " → "
                      + d);
            }
            float[] all = out.computeIfAbsent(name, k -> new float[n * d]);
            System.arraycopy(rows, 0, all, from * d, rows.length);
          }
        }
      }
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException(
          "checkpoint "
              + file
              + ": no output matches "
              + (layers.isEmpty() ? "the (N, T, d) or (N, d) shape" : layers)
              + "; hidden states must be outputs (tuple or dict) or an exported method");
    }
    return out;
  }

  /** Names every tensor in {@code v} by its path (see the class comment). */
  private static void flatten(
      String path, IValue v, PtNDManager manager, Map<String, NDArray> out) {
    if (out.size() >= MAX_OUTPUTS) {
      return;
    }
    String name = path.isEmpty() ? "output" : path;
    String prefix = path.isEmpty() ? "" : path + ".";
    if (v.isTensor()) {
      out.put(name, v.toTensor(manager));
    } else if (v.isTensorList()) {
      PtNDArray[] items = v.toTensorArray(manager);
      for (int i = 0; i < items.length && out.size() < MAX_OUTPUTS; i++) {
        out.put(prefix + i, items[i]);
      }
    } else if (v.isTuple() || v.isList()) {
      IValue[] items = v.isTuple() ? v.toIValueTuple() : v.toIValueArray();
      for (int i = 0; i < items.length; i++) {
        try (IValue item = items[i]) {
          flatten(prefix + i, item, manager, out);
        }
      }
    } else if (v.isMap()) {
      for (var e : v.toIValueMap().entrySet()) {
        try (IValue item = e.getValue()) {
          flatten(prefix + e.getKey(), item, manager, out);
        }
      }
    }
  }

  /** Rows of one output for sequences {@code [from, to)}, or null for a shape that does not fit. */
  private float[] lastRows(String name, NDArray a, int from, int to, int t) {
    Shape s = a.getShape();
    int b = to - from;
    NDArray picked;
    if (s.dimension() == 3 && s.get(0) == b && s.get(1) == t) {
      long d = s.get(2);
      long[] index = new long[b];
      for (int i = 0; i < b; i++) {
        index[i] = (long) i * t + probe.lastIndex(from + i);
      }
      picked = a.reshape(-1, d).get(a.getManager().create(index));
    } else if (s.dimension() == 2 && s.get(0) == b) {
      picked = a;
    } else {
      if (warned.add("shape:" + name)) {
        LOG.info("phasewatch: output " + name + " of shape " + s + " is not (N, T, d) or (N, d)");
      }
      return null;
    }
    return picked.toType(DataType.FLOAT32, false).toFloatArray();
  }

  @Override
  public void close() {
    closed = true;
  }
}
