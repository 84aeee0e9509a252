package io.phasewatch.collector.metrics;

import static io.phasewatch.collector.metrics.MetricNames.*;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.phasewatch.core.wire.RejectReason;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntSupplier;

/** The collector-health meters of docs/metrics.md. Thread-safe. */
public final class CollectorMetrics {

  private final MeterRegistry registry;
  private final Counter ingested;
  private final Counter duplicates;
  private final Counter evicted;
  private final Counter mergesComplete;
  private final Counter mergesPartial;
  private final Timer mergeWait;
  private final Map<String, Counter> rejected = new ConcurrentHashMap<>();
  private final Map<String, Timer> spectrum = new ConcurrentHashMap<>();
  private final AtomicLong latestCaptureMillis = new AtomicLong(Long.MIN_VALUE);
  private final AtomicLong consumerLag = new AtomicLong();
  private final AtomicBoolean consumerReady = new AtomicBoolean();

  public CollectorMetrics(MeterRegistry registry, IntSupplier liveRuns) {
    this.registry = registry;
    ingested =
        Counter.builder(SNAPSHOTS_INGESTED)
            .description("snapshots decoded and accepted")
            .register(registry);
    duplicates =
        Counter.builder(SNAPSHOTS_DUPLICATE)
            .description("snapshots of a (run, rank, layer, window) already merged, counted once")
            .register(registry);
    evicted = Counter.builder(RUNS_EVICTED).description("idle runs evicted").register(registry);
    mergesComplete = merges("true");
    mergesPartial = merges("false");
    mergeWait =
        Timer.builder(MERGE_WAIT)
            .description("time from a window's first part to its merge")
            .register(registry);
    // Every reason exists from the start at 0, so rate() and alert rules see a series at once;
    // the ingest adds the reasons of its own bookkeeping (declareRejectionReasons).
    declareRejectionReasons(Arrays.stream(RejectReason.values()).map(RejectReason::label).toList());
    Gauge.builder(
            INGEST_LAG,
            latestCaptureMillis,
            t ->
                t.get() == Long.MIN_VALUE
                    ? Double.NaN
                    : (System.currentTimeMillis() - t.get()) / 1000.0)
        .baseUnit("seconds")
        .description("now minus the capture time of the latest ingested snapshot")
        .register(registry);
    Gauge.builder(CONSUMER_LAG_RECORDS, consumerLag, l -> l.get() < 0 ? Double.NaN : l.get())
        .description(
            "records behind the end of the assigned partitions; NaN while the end is unknown")
        .register(registry);
    Gauge.builder(RUNS_LIVE, liveRuns, s -> s.getAsInt())
        .description("runs held in memory")
        .strongReference(true)
        .register(registry);
    Gauge.builder(CONSUMER_READY, consumerReady, b -> b.get() ? 1 : 0)
        .description("1 while the consumer is assigned, polling and the broker answers")
        .register(registry);
  }

  private Counter merges(String complete) {
    return Counter.builder(MERGES)
        .description("windows merged")
        .tag(TAG_COMPLETE, complete)
        .register(registry);
  }

  public void ingested(long captureTimeMillis) {
    ingested.increment();
    latestCaptureMillis.accumulateAndGet(captureTimeMillis, Math::max);
  }

  public void duplicate() {
    duplicates.increment();
  }

  /** Registers a rejection counter at 0 for each of {@code reasons} that has none yet. */
  public void declareRejectionReasons(Collection<String> reasons) {
    reasons.forEach(this::counterFor);
  }

  /**
   * Counts one record set aside; {@code reason} is one of the bounded labels of docs/metrics.md.
   */
  public void rejected(String reason) {
    counterFor(reason).increment();
  }

  public void rejected(String reason, int count) {
    counterFor(reason).increment(count);
  }

  private Counter counterFor(String reason) {
    return rejected.computeIfAbsent(
        reason,
        r ->
            Counter.builder(RECORDS_REJECTED)
                .description("records set aside")
                .tag(TAG_REASON, r)
                .register(registry));
  }

  public void merged(boolean complete, long waitMillis) {
    (complete ? mergesComplete : mergesPartial).increment();
    mergeWait.record(Duration.ofMillis(waitMillis));
  }

  public void spectrumTime(String kind, long nanos) {
    spectrum
        .computeIfAbsent(
            kind,
            k ->
                Timer.builder(SPECTRUM)
                    .description("time of one spectrum computation")
                    .tag(TAG_KIND, k)
                    .register(registry))
        .record(Duration.ofNanos(nanos));
  }

  public void runEvicted() {
    evicted.increment();
  }

  public void consumerLag(long records) {
    consumerLag.set(records);
  }

  /** The end offsets could not be read (no broker answered): the lag is unknown, not 0. */
  public void consumerLagUnknown() {
    consumerLag.set(-1);
  }

  public void consumerReady(boolean ready) {
    consumerReady.set(ready);
  }

  public boolean consumerReady() {
    return consumerReady.get();
  }

  public MeterRegistry registry() {
    return registry;
  }
}
