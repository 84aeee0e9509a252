package io.phasewatch.collector.service;

import io.micrometer.core.instrument.MeterRegistry;
import io.phasewatch.collector.ingest.MergedWindow;
import io.phasewatch.collector.metrics.CollectorMetrics;
import io.phasewatch.collector.metrics.LayerMeters;
import io.phasewatch.collector.metrics.LayerState;
import io.phasewatch.collector.metrics.TrainingPoint;
import io.phasewatch.collector.phase.Phase;
import io.phasewatch.collector.phase.PhaseDetector;
import io.phasewatch.collector.phase.PhaseDetectorConfig;
import io.phasewatch.collector.phase.PhaseTransition;
import io.phasewatch.collector.spectrum.FitRange;
import io.phasewatch.collector.spectrum.SnapshotMerge;
import io.phasewatch.collector.spectrum.SpectralMeasures;
import io.phasewatch.collector.spectrum.Spectrum;
import io.phasewatch.core.sketch.CovarianceSnapshot;
import io.phasewatch.core.wire.SnapshotMetadata;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.Stage;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.LongFunction;

/**
 * One (run, layer): its phase detector, its latest {@link LayerState} (swapped in whole), a bounded
 * series for the API and its meters. {@link #apply} runs on the spectrum worker pool, one window at
 * a time per layer (the analysis verticle chains them); readers only ever see whole states.
 */
final class LayerHandle {

  private final String run;
  private final String layer;
  private final PhaseDetector detector;
  private final LongFunction<Optional<TrainingPoint>> trainingAtOrBefore;
  private final AtomicReference<LayerState> latest = new AtomicReference<>();
  private final ArrayDeque<LayerState> series = new ArrayDeque<>();
  private final int maxPoints;
  private final LayerMeters meters;
  private final Map<Integer, Long> droppedByRank = new HashMap<>();
  private Stage stage;
  private double effectiveRankMax = Double.NaN;
  private boolean closed;
  // While hidden (its partition is being replayed from the start after a move to this instance),
  // the layer's state is rebuilt but no meter is registered; transitions are counted here and
  // handed to the meters on reveal, so the series appears once, whole.
  private boolean hidden;
  private final Map<PhaseKey, Long> hiddenTransitions = new HashMap<>();

  private record PhaseKey(Stage stage, Phase from, Phase to) {}

  LayerHandle(
      String run,
      String layer,
      int maxPoints,
      MeterRegistry registry,
      PhaseDetectorConfig detectorConfig,
      LongFunction<Optional<TrainingPoint>> trainingAtOrBefore) {
    this.run = run;
    this.trainingAtOrBefore = trainingAtOrBefore;
    this.layer = layer;
    this.maxPoints = maxPoints;
    this.detector = new PhaseDetector(run, layer, detectorConfig);
    this.meters = new LayerMeters(registry, run, layer, latest);
  }

  String run() {
    return run;
  }

  String layer() {
    return layer;
  }

  /**
   * Merges the window's ranks, computes its spectrum and measures, feeds the phase detector and
   * publishes the new state. Heavy: call only on a worker thread.
   */
  void apply(
      MergedWindow window,
      FitRange fit,
      CollectorMetrics metrics,
      Consumer<PhaseTransition> events) {
    List<SnapshotRecord> parts = window.parts();
    CovarianceSnapshot merged =
        SnapshotMerge.mergeAll(parts.stream().map(SnapshotRecord::snapshot).toList());
    long t0 = System.nanoTime();
    Spectrum spectrum = Spectrum.of(merged).summarisedAs(Spectrum.Kind.of(parts.get(0).snapshot()));
    SpectralMeasures measures = SpectralMeasures.of(spectrum, fit);
    metrics.spectrumTime(spectrum.kind().label(), System.nanoTime() - t0);
    SnapshotMetadata meta = window.latestPart().metadata();
    synchronized (this) {
      if (closed) {
        return;
      }
      for (SnapshotRecord p : parts) {
        droppedByRank.merge(p.metadata().rank(), p.metadata().samplesDropped(), Math::max);
      }
      long dropped = droppedByRank.values().stream().mapToLong(Long::longValue).sum();
      if (meta.stage() != stage) {
        stage = meta.stage();
        effectiveRankMax = Double.NaN;
      }
      if (Double.isFinite(measures.effectiveRank())
          && !(measures.effectiveRank() <= effectiveRankMax)) {
        effectiveRankMax = measures.effectiveRank();
      }
      List<PhaseTransition> transitions =
          detector.observe(meta.stage(), meta.step(), measures.effectiveRank(), measures.alpha());
      // Looked up on every window, not only at a transition: the onset moves with a stage change
      // too, and the run's scalars of this very window were offered just before (see the caller).
      TrainingPoint onsetTraining =
          trainingAtOrBefore.apply(detector.phaseSinceStep()).orElse(null);
      LayerState state =
          new LayerState(
              run,
              layer,
              meta.stage(),
              window.windowId(),
              meta.step(),
              meta.captureTimeMillis(),
              parts.size(),
              window.worldSize(),
              !window.complete(),
              merged.nonFiniteRows(),
              dropped,
              measures,
              effectiveRankMax,
              detector.current(),
              detector.phaseSinceStep(),
              detector.phaseConfirmedStep(),
              onsetTraining);
      latest.set(state);
      series.addLast(state);
      if (series.size() > maxPoints) {
        series.removeFirst();
      }
      if (hidden) {
        // The API's event list is this instance's record, replays included (as after a restart).
        transitions.forEach(
            t -> {
              hiddenTransitions.merge(new PhaseKey(t.stage(), t.from(), t.to()), 1L, Long::sum);
              events.accept(t);
            });
        return;
      }
      meters.stage(meta.stage());
      meters.onsetTraining(onsetTraining);
      transitions.forEach(
          t -> {
            meters.transition(t.stage(), t.from(), t.to());
            events.accept(t);
          });
    }
  }

  /** Hides a layer that has published nothing yet, until {@link #reveal}. */
  synchronized void hideIfNew() {
    if (latest.get() == null && !closed) {
      hidden = true;
    }
  }

  /** Registers the meters of a hidden layer with everything its replay rebuilt. */
  synchronized void reveal() {
    if (!hidden || closed) {
      return;
    }
    hidden = false;
    if (stage != null) {
      meters.stage(stage);
      latest().ifPresent(s -> meters.onsetTraining(s.phaseOnsetTraining()));
    }
    hiddenTransitions.forEach((k, n) -> meters.transitions(k.stage(), k.from(), k.to(), n));
    hiddenTransitions.clear();
  }

  Optional<LayerState> latest() {
    return Optional.ofNullable(latest.get());
  }

  synchronized List<LayerState> series() {
    return List.copyOf(series);
  }

  /** Ends this layer's series in Prometheus; a window still being computed is then dropped. */
  synchronized void close() {
    closed = true;
    meters.remove();
  }
}
