package io.phasewatch.collector.service;

import io.micrometer.core.instrument.MeterRegistry;
import io.phasewatch.collector.http.CollectorView;
import io.phasewatch.collector.ingest.MergedWindow;
import io.phasewatch.collector.metrics.LayerState;
import io.phasewatch.collector.metrics.TrainingPoint;
import io.phasewatch.collector.phase.PhaseDetectorConfig;
import io.phasewatch.collector.phase.PhaseTransition;
import io.phasewatch.core.wire.SnapshotMetadata;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.TrainingScalars;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The per-run, per-layer state the analysis writes and the HTTP API reads, plus the bounded list of
 * recent phase transitions. Thread-safe.
 */
public final class CollectorState implements CollectorView {

  private final MeterRegistry registry;
  private final int maxPointsPerLayer;
  private final int maxEvents;
  private final PhaseDetectorConfig detectorConfig;
  private final Map<String, Map<String, LayerHandle>> runs = new ConcurrentHashMap<>();
  private final ArrayDeque<PhaseTransition> events = new ArrayDeque<>();
  private final Map<String, RunScalars> scalars = new ConcurrentHashMap<>();

  /**
   * @param detectorConfig the phase detector's parameters, for every layer of every run
   */
  public CollectorState(
      MeterRegistry registry,
      int maxPointsPerLayer,
      int maxEvents,
      PhaseDetectorConfig detectorConfig) {
    this.registry = registry;
    this.maxPointsPerLayer = maxPointsPerLayer;
    this.maxEvents = maxEvents;
    this.detectorConfig = java.util.Objects.requireNonNull(detectorConfig, "detectorConfig");
  }

  LayerHandle layer(String run, String layer) {
    return runs.computeIfAbsent(run, r -> new ConcurrentHashMap<>())
        .computeIfAbsent(
            layer,
            l ->
                new LayerHandle(
                    run,
                    l,
                    maxPointsPerLayer,
                    registry,
                    detectorConfig,
                    step -> trainingAtOrBefore(run, step)));
  }

  /** Forgets a run and removes its meters; returns whether it was held. */
  boolean evict(String run) {
    RunScalars s = scalars.remove(run);
    if (s != null) {
      s.close();
    }
    Map<String, LayerHandle> layers = runs.remove(run);
    if (layers == null) {
      return false;
    }
    layers.values().forEach(LayerHandle::close);
    return true;
  }

  /** The layer's handle, or null when it is not held. */
  LayerHandle existing(String run, String layer) {
    Map<String, LayerHandle> layers = runs.get(run);
    return layers == null ? null : layers.get(layer);
  }

  /** Forgets one layer and removes its meters (its partition moved to another instance). */
  void release(String run, String layer) {
    runs.computeIfPresent(
        run,
        (r, layers) -> {
          LayerHandle h = layers.remove(layer);
          if (h != null) {
            h.close();
          }
          return layers.isEmpty() ? null : layers;
        });
  }

  public int liveRuns() {
    return runs.size();
  }

  @Override
  public Map<String, Map<String, LayerState>> latest() {
    Map<String, Map<String, LayerState>> out = new TreeMap<>();
    runs.forEach(
        (run, layers) -> {
          Map<String, LayerState> byLayer = new TreeMap<>();
          layers.forEach((name, h) -> h.latest().ifPresent(s -> byLayer.put(name, s)));
          out.put(run, byLayer);
        });
    return out;
  }

  @Override
  public Optional<List<LayerState>> series(String run, String layer) {
    Map<String, LayerHandle> layers = runs.get(run);
    LayerHandle h = layers == null ? null : layers.get(layer);
    return h == null ? Optional.empty() : Optional.of(h.series());
  }

  /** Keeps the training scalars a merged window carried, if any (called on a worker thread). */
  void trainingScalars(MergedWindow w) {
    TrainingScalars merged = TrainingScalars.empty();
    for (SnapshotRecord part : w.parts()) {
      merged = merged.merge(part.scalars());
    }
    if (merged.isEmpty()) {
      return;
    }
    SnapshotMetadata meta = w.latestPart().metadata();
    scalars
        .computeIfAbsent(w.run(), r -> new RunScalars(registry, r, maxPointsPerLayer))
        .offer(
            new TrainingPoint(w.windowId(), meta.step(), meta.stage(), w.parts().size(), merged));
  }

  @Override
  public List<TrainingPoint> trainingSeries(String run) {
    RunScalars s = scalars.get(run);
    return s == null ? List.of() : s.series();
  }

  /** The run's training scalars held at {@code step}, or else the latest before it. */
  Optional<TrainingPoint> trainingAtOrBefore(String run, long step) {
    RunScalars s = scalars.get(run);
    return s == null ? Optional.empty() : s.atOrBefore(step);
  }

  @Override
  public Optional<TrainingPoint> trainingAt(String run, long windowId) {
    RunScalars s = scalars.get(run);
    return s == null ? Optional.empty() : s.at(windowId);
  }

  void event(PhaseTransition t) {
    synchronized (events) {
      events.addLast(t);
      if (events.size() > maxEvents) {
        events.removeFirst();
      }
    }
  }

  @Override
  public List<PhaseTransition> events() {
    synchronized (events) {
      return new ArrayList<>(events);
    }
  }
}
