package io.phasewatch.collector.http;

import io.phasewatch.collector.metrics.LayerState;
import io.phasewatch.collector.metrics.TrainingPoint;
import io.phasewatch.collector.phase.PhaseTransition;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the HTTP API reads from the collector: the service's state implements it, so the API knows
 * no service class and the service can create the API (no package cycle). Every method returns a
 * copy safe to read on the event loop.
 */
public interface CollectorView {

  /** The latest state of every layer that has one, by run and layer name. */
  Map<String, Map<String, LayerState>> latest();

  /** The held series of one layer, oldest first; empty when the layer is unknown. */
  Optional<List<LayerState>> series(String run, String layer);

  /** A run's training scalars by window, oldest first; empty when it sent none. */
  List<TrainingPoint> trainingSeries(String run);

  /** The training scalars of one window of a run, if it carried any. */
  Optional<TrainingPoint> trainingAt(String run, long windowId);

  /** The most recent transitions, oldest first. */
  List<PhaseTransition> events();
}
