package io.phasewatch.demo;

import io.phasewatch.collector.json.MeasuresJson;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What a demo run measured, as the collector computed it: per-layer series, the detected
 * transitions and the stage boundaries. Written as {@code summary.json} next to the figure, with
 * the field names of {@link MeasuresJson} (docs/http-api.md).
 */
record DemoReport(
    String run,
    String headlineLayer,
    List<LayerSeries> layers,
    List<Transition> transitions,
    List<StageBoundary> stages,
    JsonObject training) {

  DemoReport {
    Objects.requireNonNull(run, "run");
    Objects.requireNonNull(headlineLayer, "headlineLayer");
    layers = List.copyOf(layers);
    transitions = List.copyOf(transitions);
    stages = List.copyOf(stages);
    training = training.copy();
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
                .put(MeasuresJson.STEP, p.step())
                .put(MeasuresJson.EFFECTIVE_RANK, MeasuresJson.finite(p.effectiveRank()))
                .put(MeasuresJson.ALPHA, MeasuresJson.finite(p.alpha()))
                .put(MeasuresJson.PHASE, p.phase())
                .put(MeasuresJson.STAGE, p.stage()));
      }
      layerArray.add(new JsonObject().put(MeasuresJson.LAYER, s.layer()).put("series", points));
    }
    JsonArray transitionArray = new JsonArray();
    for (Transition t : transitions) {
      transitionArray.add(
          new JsonObject()
              .put(MeasuresJson.LAYER, t.layer())
              .put(MeasuresJson.STAGE, t.stage())
              .put(MeasuresJson.FROM, t.from())
              .put(MeasuresJson.TO, t.to())
              .put(MeasuresJson.STEP, t.step()));
    }
    JsonArray stageArray = new JsonArray();
    for (StageBoundary s : stages) {
      stageArray.add(
          new JsonObject().put(MeasuresJson.STAGE, s.stage()).put(MeasuresJson.STEP, s.step()));
    }
    return new JsonObject()
        .put(MeasuresJson.RUN, run)
        .put("headline_layer", headlineLayer)
        .put("layers", layerArray)
        .put("transitions", transitionArray)
        .put("stages", stageArray)
        .put("training", training.copy());
  }
}
