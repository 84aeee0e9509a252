package io.phasewatch.agent.config;

import io.phasewatch.core.sketch.RowSample;
import io.phasewatch.core.wire.DecodeLimits;
import io.phasewatch.core.wire.Stage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Everything the agent is told, checked once. Read it with {@link AgentConfigLoader}; every key and
 * its default is listed in {@code docs/configuration.md} ("Agent").
 *
 * @param enabled false makes the agent a no-op that starts no thread and allocates no queue
 * @param runId the training run (first half of the Kafka key)
 * @param stage the stage windows carry until the trainer reports another
 * @param rank data-parallel rank of this process
 * @param worldSize number of data-parallel ranks
 * @param sampling what the training side samples (read by the DJL taps)
 * @param window when a window closes
 * @param sketch which summary each layer gets
 * @param queue bounds of the hand-off from the training thread to the sketch thread
 * @param publish where and how snapshots go
 * @param summaryInterval period of the one-line summary log
 */
public record AgentConfig(
    boolean enabled,
    String runId,
    Stage stage,
    int rank,
    int worldSize,
    Sampling sampling,
    Window window,
    Sketch sketch,
    Queue queue,
    Publish publish,
    Duration summaryInterval) {

  public AgentConfig {
    Objects.requireNonNull(runId, "run");
    Objects.requireNonNull(stage, "stage");
    Objects.requireNonNull(sampling, "sampling");
    Objects.requireNonNull(window, "window");
    Objects.requireNonNull(sketch, "sketch");
    Objects.requireNonNull(queue, "queue");
    Objects.requireNonNull(publish, "publish");
    Objects.requireNonNull(summaryInterval, "summary-interval");
    if (runId.isEmpty() || runId.contains("/")) {
      throw new IllegalArgumentException(
          "agent config: run must be non-empty and hold no '/', got '" + runId + "'");
    }
    if (worldSize < 1 || rank < 0 || rank >= worldSize) {
      throw new IllegalArgumentException(
          "agent config: rank " + rank + " outside world-size " + worldSize);
    }
    if (summaryInterval.isNegative() || summaryInterval.isZero()) {
      throw new IllegalArgumentException(
          "agent config: summary-interval must be > 0, got " + summaryInterval);
    }
  }

  /** The defaults of every key, for a run named {@code runId}. */
  public static AgentConfig defaults(String runId) {
    return AgentConfigLoader.load("", Map.of(), Map.of("run", runId));
  }

  /** A copy with another publish section (tests and embedders point it at their broker). */
  public AgentConfig withPublish(Publish other) {
    return new AgentConfig(
        enabled,
        runId,
        stage,
        rank,
        worldSize,
        sampling,
        window,
        sketch,
        queue,
        other,
        summaryInterval);
  }

  /** How the training side samples; live: from the training forward pass, probe: a probe set. */
  public enum Mode {
    LIVE,
    PROBE
  }

  /**
   * @param mode live or probe
   * @param taps layer names or globs ({@code *} matches any run of characters) to tap
   * @param everySteps K: sample every K training steps
   * @param rowsPerStep r: rows sampled per tapped layer per sampled step (live)
   * @param probeSequences N: sequences in the probe set (probe)
   * @param probeBudget the probe pass's allowed share of the step time before the cadence stretches
   */
  public record Sampling(
      Mode mode,
      List<String> taps,
      int everySteps,
      int rowsPerStep,
      int probeSequences,
      double probeBudget) {
    public Sampling {
      Objects.requireNonNull(mode, "sampling.mode");
      taps = List.copyOf(taps);
      positive("sampling.every-steps", everySteps);
      positive("sampling.rows-per-step", rowsPerStep);
      positive("sampling.probe-sequences", probeSequences);
      if (!(probeBudget > 0 && probeBudget < 1)) {
        throw new IllegalArgumentException(
            "agent config: sampling.probe-budget must be in (0, 1), got " + probeBudget);
      }
    }
  }

  /**
   * @param steps K: in live mode a window spans this many training steps (aligned to step 0, so all
   *     ranks close the same windows); in probe mode every probe pass is one window
   */
  public record Window(int steps) {
    public Window {
      positive("window.steps", steps);
    }
  }

  /** Which summary a layer gets. */
  public enum Kind {
    EXACT,
    /** The exact co-moment of every row with its matrix stored as float32 (half the bytes). */
    EXACT32,
    /** The window's rows themselves (a uniform sample of a fixed size when there are more). */
    SAMPLE,
    FD
  }

  /**
   * @param exactMaxDim layers with d ≤ this get the exact summary
   * @param exact32MaxDim wider layers with d ≤ this get the float32 co-moment, wider ones the row
   *     sample
   * @param fdRows ℓ, the Frequent Directions sketch size
   * @param sampleRows rows a window's sample holds, all ranks together
   * @param sampleMaxBytes float32 rows one rank keeps per layer at most
   * @param overrides per-layer choices, first matching pattern wins
   */
  public record Sketch(
      int exactMaxDim,
      int exact32MaxDim,
      int fdRows,
      int sampleRows,
      long sampleMaxBytes,
      List<LayerOverride> overrides) {
    public Sketch {
      positive("sketch.exact-max-dim", exactMaxDim);
      positive("sketch.exact32-max-dim", exact32MaxDim);
      positive("sketch.fd-rows", fdRows);
      positive("sketch.sample-rows", sampleRows);
      if (sampleMaxBytes < 4) {
        throw new IllegalArgumentException(
            "agent config: sketch.sample-max-bytes must be ≥ 4, got " + sampleMaxBytes);
      }
      overrides = List.copyOf(overrides);
    }

    /** Rows one of {@code worldSize} ranks keeps in a row sample of width {@code dim}. */
    public int sampleCapacity(int worldSize, int dim) {
      return RowSample.capacityFor(sampleRows, worldSize, sampleMaxBytes, dim);
    }

    /** The summary for {@code layer} of width {@code dim}: an override, else by width. */
    public LayerOverride choose(String layer, int dim) {
      for (LayerOverride o : overrides) {
        if (Globs.matches(o.layer(), layer)) {
          return o;
        }
      }
      Kind byWidth =
          dim <= exactMaxDim ? Kind.EXACT : dim <= exact32MaxDim ? Kind.EXACT32 : Kind.SAMPLE;
      return new LayerOverride(layer, byWidth, fdRows);
    }
  }

  /**
   * @param layer a layer name or glob
   * @param kind exact, sample or fd
   * @param fdRows ℓ when {@code kind} is fd
   */
  public record LayerOverride(String layer, Kind kind, int fdRows) {
    public LayerOverride {
      Objects.requireNonNull(layer, "sketch.overrides[].layer");
      Objects.requireNonNull(kind, "sketch.overrides[].kind");
      positive("sketch.overrides[].fd-rows", fdRows);
    }
  }

  /**
   * @param maxRows rows waiting for the sketch thread, all layers together
   * @param maxBytes bytes of those rows
   * @param maxLayers distinct layers the agent keeps state for; rows of more are dropped
   */
  public record Queue(int maxRows, long maxBytes, int maxLayers) {
    public Queue {
      positive("queue.max-rows", maxRows);
      positive("queue.max-layers", maxLayers);
      if (maxBytes < 4) {
        throw new IllegalArgumentException(
            "agent config: queue.max-bytes must be ≥ 4, got " + maxBytes);
      }
    }
  }

  /**
   * @param enabled false keeps snapshots in-process (counted as dropped with reason
   *     publish_disabled)
   * @param topic the Kafka topic
   * @param maxRecordBytes largest Kafka record value; larger snapshots are chunked
   * @param bufferSnapshots snapshots held in memory while the broker is away
   * @param bufferBytes bytes of those snapshots
   * @param spoolDir when set, pending snapshots live on disk here instead and survive a restart
   * @param spoolMaxBytes bytes the spool may hold
   * @param retryBackoff first pause after a failed send
   * @param retryBackoffMax longest pause between retries
   * @param kafka producer settings passed through as they are ({@code kafka.*} keys)
   */
  public record Publish(
      boolean enabled,
      String topic,
      int maxRecordBytes,
      int bufferSnapshots,
      long bufferBytes,
      Optional<Path> spoolDir,
      long spoolMaxBytes,
      Duration retryBackoff,
      Duration retryBackoffMax,
      Map<String, String> kafka) {
    public Publish {
      Objects.requireNonNull(topic, "publish.topic");
      if (topic.isEmpty()) {
        throw new IllegalArgumentException("agent config: publish.topic must not be empty");
      }
      int largest = DecodeLimits.defaults().maxRecordBytes();
      if (maxRecordBytes < 1024 || maxRecordBytes > largest) {
        throw new IllegalArgumentException(
            "agent config: publish.max-record-bytes must be in [1024, "
                + largest
                + "] (what a collector decodes by default), got "
                + maxRecordBytes);
      }
      positive("publish.buffer-snapshots", bufferSnapshots);
      if (bufferBytes < 1 || spoolMaxBytes < 1) {
        throw new IllegalArgumentException(
            "agent config: publish.buffer-bytes and publish.spool-max-bytes must be ≥ 1");
      }
      Objects.requireNonNull(spoolDir, "publish.spool-dir");
      if (retryBackoff.isNegative()
          || retryBackoff.isZero()
          || retryBackoffMax.compareTo(retryBackoff) < 0) {
        throw new IllegalArgumentException(
            "agent config: need 0 < publish.retry-backoff ≤ publish.retry-backoff-max, got "
                + retryBackoff
                + " and "
                + retryBackoffMax);
      }
      kafka = Map.copyOf(kafka);
    }

    /** A copy with more producer settings (the embedder's bootstrap servers, say). */
    public Publish withKafka(Map<String, String> more) {
      var merged = new java.util.HashMap<>(kafka);
      merged.putAll(more);
      return new Publish(
          enabled,
          topic,
          maxRecordBytes,
          bufferSnapshots,
          bufferBytes,
          spoolDir,
          spoolMaxBytes,
          retryBackoff,
          retryBackoffMax,
          merged);
    }
  }

  private static void positive(String key, long value) {
    if (value < 1) {
      throw new IllegalArgumentException("agent config: " + key + " must be ≥ 1, got " + value);
    }
  }
}
