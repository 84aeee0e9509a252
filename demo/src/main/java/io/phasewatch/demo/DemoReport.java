package io.phasewatch.demo;

import io.phasewatch.collector.json.MeasuresJson;
import io.phasewatch.collector.metrics.TrainingPoint;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What a demo run measured, as the collector computed it: per-layer series, the detected
 * transitions, the stage boundaries and the training scalars (loss, learning rate, named scalars)
 * that travelled with the windows. Written as {@code summary.json} next to the figure, with the
 * field names of {@link MeasuresJson} (docs/http-api.md).
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
    JsonArray findings = new JsonArray();
    for (StageFinding f : stageFindings()) {
      findings.add(
          new JsonObject()
              .put("stage", f.stage())
              .put("layer", f.layer())
              .put("windows", f.windows())
              .put("phases_detected", new JsonArray(f.phasesDetected()))
              .put("label", f.label())
              .put("effective_rank_first", MeasuresJson.finite(f.rankFirst()))
              .put("effective_rank_last", MeasuresJson.finite(f.rankLast()))
              .put("alpha_first", MeasuresJson.finite(f.alphaFirst()))
              .put("alpha_last", MeasuresJson.finite(f.alphaLast()))
              .put("predicted", f.predicted())
              .put("verdict", f.verdict()));
    }
    // One object per window: its step, then each scalar by name (loss, learning_rate, …).
    JsonArray scalarArray = new JsonArray();
    for (TrainingPoint t : scalars) {
      JsonObject o = new JsonObject().put("step", t.step()).put("stage", t.stage().label());
      t.scalars().values().forEach((name, v) -> o.put(name, v.value()));
      scalarArray.add(o);
    }
    return new JsonObject()
        .put(MeasuresJson.RUN, run)
        .put("post_training_geometry", findings)
        .put("headline_layer", headlineLayer)
        .put("layers", layerArray)
        .put("transitions", transitionArray)
        .put("stages", stageArray)
        .put("training", training.copy())
        .put("training_scalars", scalarArray);
  }

  /**
   * Windows a stage needs before "no transition" is the detector's verdict on its data rather than
   * its starting state: every segment starts in {@code steady}, and the detector confirms a trend
   * from four windows after its onset at the earliest (docs/phases.md), so a stage of 2–3 windows
   * (what the stretched pretraining cadence gave each stage) is steady by default.
   */
  static final int WINDOWS_TO_JUDGE = 10;

  /**
   * What one post-training stage showed on one layer: the phases the detector labelled within it,
   * the raw change of RankMe and α from its first to its last window, and whether the labels match
   * the study's prediction (SFT and DPO entropy-seeking, RLVR compression-seeking).
   */
  record StageFinding(
      String stage,
      String layer,
      int windows,
      List<String> phasesDetected,
      double rankFirst,
      double rankLast,
      double alphaFirst,
      double alphaLast,
      String predicted,
      String verdict) {
    StageFinding {
      phasesDetected = List.copyOf(phasesDetected);
    }

    /**
     * The stage's label by its data: the phases the detector entered within it, in order; {@code
     * steady} when it entered none over at least {@link #WINDOWS_TO_JUDGE} windows; {@code
     * unlabelled} when the stage had fewer windows than that and no transition.
     */
    String label() {
      if (!phasesDetected.isEmpty()) {
        return String.join(" → ", phasesDetected);
      }
      return windows >= WINDOWS_TO_JUDGE ? "steady" : "unlabelled";
    }
  }

  /** The study's expected direction of each post-training stage (DESIGN.md). */
  static String predictedPhase(String stage) {
    return switch (stage) {
      case "sft", "dpo" -> "entropy_seeking";
      case "rlvr" -> "compression_seeking";
      default -> null;
    };
  }

  /** One finding per post-training stage and layer, in the order the stages ran. */
  List<StageFinding> stageFindings() {
    List<StageFinding> out = new ArrayList<>();
    for (StageBoundary boundary : stages) {
      String predicted = predictedPhase(boundary.stage());
      if (predicted == null) {
        continue;
      }
      for (LayerSeries series : layers) {
        List<Point> in =
            series.points().stream().filter(p -> boundary.stage().equals(p.stage())).toList();
        List<String> detected = new ArrayList<>();
        for (Transition t : transitions) {
          if (t.layer().equals(series.layer())
              && t.stage().equals(boundary.stage())
              && !detected.contains(t.to())) {
            detected.add(t.to());
          }
        }
        String verdict;
        if (detected.isEmpty() && in.size() < WINDOWS_TO_JUDGE) {
          verdict = "too few windows (" + in.size() + ") for the detector to judge";
        } else if (detected.isEmpty()) {
          verdict = "differs from the prediction: no RankMe trend the detector confirms";
        } else if (detected.contains(predicted)) {
          verdict =
              detected.size() == 1
                  ? "matches the prediction"
                  : "matches the prediction in part (also " + others(detected, predicted) + ")";
        } else {
          verdict = "differs from the prediction";
        }
        out.add(
            new StageFinding(
                boundary.stage(),
                series.layer(),
                in.size(),
                detected,
                in.isEmpty() ? Double.NaN : in.get(0).effectiveRank(),
                in.isEmpty() ? Double.NaN : in.get(in.size() - 1).effectiveRank(),
                in.isEmpty() ? Double.NaN : in.get(0).alpha(),
                in.isEmpty() ? Double.NaN : in.get(in.size() - 1).alpha(),
                predicted,
                verdict));
      }
    }
    return out;
  }

  private static String others(List<String> detected, String predicted) {
    return String.join(", ", detected.stream().filter(p -> !p.equals(predicted)).toList());
  }

  /**
   * The collector's series of every layer as CSV ({@code step,layer,rankme,alpha,train_acc,
   * test_acc,phase}), with the trainer's accuracy at the same step where it has one (empty
   * otherwise): the form the detector's recorded-series fixtures take.
   */
  String seriesCsv() {
    java.util.Map<Long, JsonObject> accuracy = new java.util.HashMap<>();
    JsonArray points = training.getJsonArray("accuracy");
    if (points != null) {
      for (int i = 0; i < points.size(); i++) {
        accuracy.put(points.getJsonObject(i).getLong("step"), points.getJsonObject(i));
      }
    }
    StringBuilder csv = new StringBuilder("step,layer,rankme,alpha,train_acc,test_acc,phase\n");
    for (LayerSeries s : layers) {
      for (Point p : s.points()) {
        JsonObject a = accuracy.get(p.step());
        csv.append(p.step())
            .append(',')
            .append(s.layer())
            .append(',')
            .append(csvNumber(p.effectiveRank()))
            .append(',')
            .append(csvNumber(p.alpha()))
            .append(',')
            .append(a == null ? "" : csvNumber(a.getDouble("train", Double.NaN)))
            .append(',')
            .append(a == null ? "" : csvNumber(a.getDouble("held_out", Double.NaN)))
            .append(',')
            .append(p.phase() == null ? "" : p.phase())
            .append('\n');
      }
    }
    return csv.toString();
  }

  private static String csvNumber(double v) {
    return Double.isFinite(v) ? String.format(java.util.Locale.ROOT, "%.5g", v) : "";
  }
}
