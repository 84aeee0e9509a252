package io.phasewatch.collector.service;

import io.micrometer.core.instrument.MeterRegistry;
import io.phasewatch.collector.metrics.TrainingPoint;
import io.phasewatch.collector.metrics.TrainingScalarMeters;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;

/**
 * One run's training scalars: a bounded series by window and the gauges of the latest. Every layer
 * of a window carries the same scalars; of the layers' merges the one over the most ranks is kept,
 * so a window merged partially in one layer and completely in another shows the complete one. The
 * same points are indexed by step for the layers' look-up of the scalars at a phase's onset.
 */
final class RunScalars {
  private final int maxPoints;
  private final TreeMap<Long, TrainingPoint> series = new TreeMap<>();
  // Of two held windows at one step (a producer restarted from a checkpoint), the later one.
  private final TreeMap<Long, TrainingPoint> byStep = new TreeMap<>();
  private final TrainingScalarMeters meters;
  private long latestWindow = -1;

  RunScalars(MeterRegistry registry, String run, int maxPoints) {
    this.maxPoints = maxPoints;
    this.meters = new TrainingScalarMeters(registry, run);
  }

  synchronized void offer(TrainingPoint p) {
    TrainingPoint held = series.get(p.windowId());
    if (held != null && held.ranks() >= p.ranks()) {
      return;
    }
    if (held == null && series.size() >= maxPoints && p.windowId() < series.firstKey()) {
      return; // older than everything held
    }
    series.put(p.windowId(), p);
    TrainingPoint atStep = byStep.get(p.step());
    if (atStep == null || atStep.windowId() <= p.windowId()) {
      byStep.put(p.step(), p);
    }
    while (series.size() > maxPoints) {
      TrainingPoint dropped = series.pollFirstEntry().getValue();
      byStep.remove(dropped.step(), dropped);
    }
    if (p.windowId() >= latestWindow) {
      latestWindow = p.windowId();
      meters.update(p.step(), p.scalars());
    }
  }

  synchronized List<TrainingPoint> series() {
    return List.copyOf(series.values());
  }

  synchronized Optional<TrainingPoint> at(long windowId) {
    return Optional.ofNullable(series.get(windowId));
  }

  /** The held window at {@code step}, or else the latest one before it. */
  synchronized Optional<TrainingPoint> atOrBefore(long step) {
    var e = byStep.floorEntry(step);
    return e == null ? Optional.empty() : Optional.of(e.getValue());
  }

  void close() {
    meters.remove();
  }
}
