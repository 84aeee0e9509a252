package io.phasewatch.agent.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Every meter name the agent side registers, as Micrometer dot names (a Prometheus registry renders
 * {@code phasewatch.agent.windows.published} as {@code phasewatch_agent_windows_published_total}).
 * docs/metrics.md lists them with their tags; a test keeps the two equal. The meters counted from
 * more than one class are built here once.
 */
public final class AgentMetricNames {

  // The agent: in the trainer's JVM, and inside the spool sidecar and checkpoint watcher.
  public static final String SAMPLES_TAKEN = "phasewatch.agent.samples.taken";
  public static final String SAMPLES_DROPPED = "phasewatch.agent.samples.dropped";
  public static final String QUEUE_ROWS = "phasewatch.agent.queue.rows";
  public static final String QUEUE_BYTES = "phasewatch.agent.queue.bytes";
  public static final String SKETCH_TIME = "phasewatch.agent.sketch.time";
  public static final String WINDOWS_CLOSED = "phasewatch.agent.windows.closed";
  public static final String EVENTS_DROPPED = "phasewatch.agent.events.dropped";
  public static final String SCALARS_DROPPED = "phasewatch.agent.scalars.dropped";
  public static final String SNAPSHOTS_DROPPED = "phasewatch.agent.snapshots.dropped";
  public static final String FAILURES = "phasewatch.agent.failures";

  // The publisher.
  public static final String WINDOWS_PUBLISHED = "phasewatch.agent.windows.published";
  public static final String PUBLISH_FAILURES = "phasewatch.agent.publish.failures";
  public static final String PUBLISH_LATENCY = "phasewatch.agent.publish.latency";
  public static final String PUBLISH_PENDING = "phasewatch.agent.publish.pending";
  public static final String PUBLISH_PENDING_BYTES = "phasewatch.agent.publish.pending.bytes";

  // The spool sidecar.
  public static final String SIDECAR_FILES_DONE = "phasewatch.sidecar.files.done";
  public static final String SIDECAR_WINDOWS_HANDED = "phasewatch.sidecar.windows.handed";
  public static final String SIDECAR_ROWS_FOLDED = "phasewatch.sidecar.rows.folded";
  public static final String SIDECAR_ROWS_NONFINITE = "phasewatch.sidecar.rows.nonfinite";
  public static final String SIDECAR_SCALARS_DROPPED = "phasewatch.sidecar.scalars.dropped";
  public static final String SIDECAR_FILES_REJECTED = "phasewatch.sidecar.files.rejected";
  public static final String SIDECAR_FILES_DROPPED = "phasewatch.sidecar.files.dropped";
  public static final String SIDECAR_FILES_ALREADY_PUBLISHED =
      "phasewatch.sidecar.files.already.published";
  public static final String SIDECAR_FILES_VANISHED = "phasewatch.sidecar.files.vanished";
  public static final String SIDECAR_FAILURES = "phasewatch.sidecar.failures";
  public static final String SIDECAR_PENDING_FILES = "phasewatch.sidecar.pending.files";
  public static final String SIDECAR_PENDING_BYTES = "phasewatch.sidecar.pending.bytes";

  // The checkpoint watcher.
  public static final String CHECKPOINTS_PROCESSED = "phasewatch.checkpoint.processed";
  public static final String CHECKPOINT_FAILURES = "phasewatch.checkpoint.failures";
  public static final String CHECKPOINTS_SKIPPED = "phasewatch.checkpoint.skipped";

  /** The tag of every dropped or rejected count: a fixed list of values per meter. */
  public static final String TAG_REASON = "reason";

  /** The tag of {@link #FAILURES} and {@link #SIDECAR_FAILURES}: which part failed. */
  public static final String TAG_PART = "part";

  private AgentMetricNames() {}

  /** The counter of snapshots not delivered for {@code reason}. */
  public static Counter snapshotsDropped(MeterRegistry registry, String reason) {
    return Counter.builder(SNAPSHOTS_DROPPED)
        .description("snapshots not delivered")
        .tag(TAG_REASON, reason)
        .register(registry);
  }

  /** The counter of internal failures of {@code part}. */
  public static Counter failures(MeterRegistry registry, String part) {
    return Counter.builder(FAILURES)
        .description("internal failures; each part logs once and is disabled")
        .tag(TAG_PART, part)
        .register(registry);
  }
}
