package io.phasewatch.demo;

import io.phasewatch.collector.service.TrainingPoint;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What a demo run measured, as the collector computed it: per-layer series, the detected
 * transitions, the stage boundaries and the training scalars (loss, learning rate, named scalars)
 * that travelled with the windows. Written as {@code summary.json} next to the figure.
 */
record DemoReport(
    String run,
    String headlineLayer,
    List<LayerSeries> layers,
    List<Transition> transitions,
    List<StageBoundary> stages,
    JsonObject training,
    List<TrainingPoint> scalars) {

  DemoReport {
    Objects.requireNonNull(run, "run");
    Objects.requireNonNull(headlineLayer, "headlineLayer");
    layers = List.copyOf(layers);
    transitions = List.copyOf(transitions);
    stages = List.copyOf(stages);
    training = training.copy();
    scalars = List.copyOf(scalars);
  }

  /** A report of a run that sent no training scalars. */
  DemoReport(
      String run,
      String headlineLayer,
      List<LayerSeries> layers,
      List<Transition> transitions,
      List<StageBoundary> stages,
      JsonObject training) {
    this(run, headlineLayer, layers, transitions, stages, training, List.of());
  }

  record Point(long step, double effectiveRank, double alpha, String phase, String stage) {}

  record LayerSeries(String layer, List<Point> points) {
    LayerSeries {
      points = List.copyOf(points);
    }
  }

  record Transition(String layer, String stage, String from, String to, long step) {}

  record StageBoundary(String stage, long step) {}

  record PhaseBand(String phase, long fromStep, long toStep) {}

  /** Contiguous runs of one phase in the headline layer's series, for shading. */
  List<PhaseBand> headlineBands() {
    List<PhaseBand> bands = new ArrayList<>();
    for (LayerSeries series : layers) {
      if (!series.layer().equals(headlineLayer)) {
        continue;
      }
      String phase = null;
      long from = 0;
      long last = 0;
      for (Point p : series.points()) {
        if (p.phase() == null) {
          continue;
        }
        if (!p.phase().equals(phase)) {
          if (phase != null) {
            bands.add(new PhaseBand(phase, from, p.step()));
          }
          phase = p.phase();
          from = p.step();
        }
        last = p.step();
      }
      if (phase != null) {
        bands.add(new PhaseBand(phase, from, last));
      }
    }
    return bands;
  }

  JsonObject toJson() {
    JsonArray layerArray = new JsonArray();
    for (LayerSeries s : layers) {
      JsonArray points = new JsonArray();
      for (Point p : s.points()) {
        points.add(
            new JsonObject()
                .put("step", p.step())
                .put("effective_rank", finite(p.effectiveRank()))
                .put("alpha", finite(p.alpha()))
                .put("phase", p.phase())
                .put("stage", p.stage()));
      }
      layerArray.add(new JsonObject().put("layer", s.layer()).put("series", points));
    }
    JsonArray transitionArray = new JsonArray();
    for (Transition t : transitions) {
      transitionArray.add(
          new JsonObject()
              .put("layer", t.layer())
              .put("stage", t.stage())
              .put("from", t.from())
              .put("to", t.to())
              .put("step", t.step()));
    }
    JsonArray stageArray = new JsonArray();
    for (StageBoundary s : stages) {
      stageArray.add(new JsonObject().put("stage", s.stage()).put("step", s.step()));
    }
    // One object per window: its step, then each scalar by name (loss, learning_rate, …).
    JsonArray scalarArray = new JsonArray();
    for (TrainingPoint t : scalars) {
      JsonObject o = new JsonObject().put("step", t.step()).put("stage", t.stage().label());
      t.scalars().values().forEach((name, v) -> o.put(name, v.value()));
      scalarArray.add(o);
    }
    return new JsonObject()
        .put("run", run)
        .put("headline_layer", headlineLayer)
        .put("layers", layerArray)
        .put("transitions", transitionArray)
        .put("stages", stageArray)
        .put("training", training.copy())
        .put("training_scalars", scalarArray);
  }

  /** JSON has no NaN: an unknown measurement is null. */
  static Double finite(double v) {
    return Double.isFinite(v) ? v : null;
  }
}
