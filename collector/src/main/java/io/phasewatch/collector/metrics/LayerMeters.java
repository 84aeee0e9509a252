package io.phasewatch.collector.metrics;

import static io.phasewatch.collector.metrics.MetricNames.*;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.phasewatch.collector.phase.Phase;
import io.phasewatch.core.wire.Stage;
import io.phasewatch.core.wire.TrainingScalars;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.ToDoubleFunction;

/**
 * The per-(run, layer) meters of docs/metrics.md. The gauges read the layer's current {@link
 * LayerState} at scrape time. The {@code stage} label follows the run: on a stage change the meters
 * of the old stage are removed, so each series ends cleanly; {@link #remove()} ends them all when
 * the run is evicted. The gauges of the training scalars at the phase's onset appear per scalar
 * name once an onset training point has carried it (at most {@link TrainingScalars#MAX_SCALARS}
 * user names besides the loss and learning rate), and stay, NaN while the current onset lacks the
 * name. Not thread-safe: the caller serialises calls per layer.
 */
public final class LayerMeters {

  private final MeterRegistry registry;
  private final String run;
  private final String layer;
  private final AtomicReference<LayerState> state;
  private final List<Meter> gauges = new ArrayList<>();
  // Function counters over held counts: a layer revealed after its replay shows its full count in
  // its first sample, so increase() sees no jump from 0.
  private final Map<String, AtomicLong> transitionCounts = new HashMap<>();
  private final Map<String, Meter> transitions = new HashMap<>();
  private final Set<String> onsetNames = new LinkedHashSet<>();
  private int onsetNamed;
  private Stage stage;

  public LayerMeters(
      MeterRegistry registry, String run, String layer, AtomicReference<LayerState> state) {
    this.registry = registry;
    this.run = run;
    this.layer = layer;
    this.state = state;
  }

  /** Registers the gauges under this stage label (removing those of an earlier stage). */
  public void stage(Stage s) {
    if (s == stage) {
      return;
    }
    gauges.forEach(registry::remove);
    gauges.clear();
    stage = s;
    Tags tags = tags(s);
    gauge(
        EFFECTIVE_RANK,
        "RankMe (study variant) on the centred covariance eigenvalues",
        null,
        tags,
        st -> st.measures().effectiveRank());
    gauge(
        EFFECTIVE_RANK_ERROR_BOUND,
        "bound on |RankMe(sketch) - RankMe(exact)|; 0 for exact summaries",
        null,
        tags,
        st -> st.measures().effectiveRankErrorBound());
    gauge(
        EFFECTIVE_RANK_MAX,
        "largest effective rank seen in this run and stage so far",
        null,
        tags,
        LayerState::effectiveRankMax);
    gauge(
        ALPHA,
        "power-law decay exponent alpha of the eigenvalues (weighted fit)",
        null,
        tags,
        st -> st.measures().alpha());
    gauge(
        ALPHA_ERROR_BOUND,
        "bound on |alpha(sketch) - alpha(exact)|; 0 for exact summaries",
        null,
        tags,
        st -> st.measures().alphaErrorBound());
    gauge(ALPHA_FIT_R2, "R^2 of the alpha fit", null, tags, st -> st.measures().alphaR2());
    gauge(
        PARTICIPATION_RATIO,
        "(sum lambda)^2 / sum lambda^2",
        null,
        tags,
        st -> st.measures().participationRatio());
    gauge(
        TOP1_VARIANCE_SHARE, "lambda_1 / sum lambda", null, tags, st -> st.measures().top1Share());
    gauge(
        TOP10_VARIANCE_SHARE,
        "sum of the top 10 eigenvalues / sum lambda",
        null,
        tags,
        st -> st.measures().top10Share());
    gauge(
        TOTAL_VARIANCE,
        "trace of the centred covariance",
        null,
        tags,
        st -> st.measures().totalVariance());
    gauge(
        DIMENSION,
        "width d of the layer's hidden state (columns of the window)",
        null,
        tags,
        st -> st.measures().dimension());
    gauge(
        WINDOW_SAMPLES,
        "rows in the latest merged window (N)",
        null,
        tags,
        st -> st.measures().count());
    gauge(
        WINDOW_RANKS,
        "data-parallel ranks merged into the latest window",
        null,
        tags,
        LayerState::ranks);
    gauge(
        WINDOW_PARTIAL,
        "1 when the latest window was merged before all world_size ranks arrived",
        null,
        tags,
        st -> st.partial() ? 1 : 0);
    gauge(LAST_STEP, "training step of the latest merged window", null, tags, LayerState::step);
    gauge(
        LAST_WINDOW_TIMESTAMP,
        "capture time of the latest merged window (epoch seconds)",
        "seconds",
        tags,
        st -> st.captureTimeMillis() / 1000.0);
    gauge(
        PHASE_SINCE_STEP,
        "estimated step at which the current phase began (its onset, found in the series)",
        null,
        tags,
        LayerState::phaseSinceStep);
    gauge(
        PHASE_CONFIRMED_STEP,
        "step of the window that confirmed the current phase",
        null,
        tags,
        LayerState::phaseConfirmedStep);
    gauge(
        AGENT_SAMPLES_DROPPED,
        "rows the agents dropped for this layer so far, summed over ranks",
        null,
        tags,
        LayerState::samplesDropped);
    gauge(
        NONFINITE_ROWS,
        "rows with NaN or Inf left out of the latest window",
        null,
        tags,
        LayerState::nonFiniteRows);
    for (Phase p : Phase.values()) {
      gauge(
          PHASE,
          "1 for the current phase, 0 for the others",
          null,
          tags.and(TAG_PHASE, p.label()),
          st -> st.phase() == p ? 1 : 0);
    }
    if (!onsetNames.isEmpty()) {
      onsetStepGauge(tags);
      onsetNames.forEach(name -> onsetGauge(name, tags));
    }
  }

  /**
   * Shows the scalars of the state's onset training point ({@link LayerState#phaseOnsetTraining}):
   * registers a gauge for each name not shown yet. Call after {@link #stage}.
   */
  public void onsetTraining(TrainingPoint onset) {
    if (onset == null) {
      return;
    }
    for (String name : onset.scalars().values().keySet()) {
      if (onsetNames.contains(name)) {
        continue;
      }
      boolean named =
          !name.equals(TrainingScalars.LOSS) && !name.equals(TrainingScalars.LEARNING_RATE);
      if (named && onsetNamed >= TrainingScalars.MAX_SCALARS) {
        continue; // the run's own scalar gauges log the limit once
      }
      if (named) {
        onsetNamed++;
      }
      if (onsetNames.isEmpty() && stage != null) {
        onsetStepGauge(tags(stage));
      }
      onsetNames.add(name);
      if (stage != null) {
        onsetGauge(name, tags(stage));
      }
    }
  }

  private void onsetStepGauge(Tags tags) {
    gauge(
        PHASE_ONSET_TRAINING_STEP,
        "step of the window whose training scalars the phase_onset_training gauges show: the"
            + " latest at or before the current phase's onset",
        null,
        tags,
        st -> st.phaseOnsetTraining() == null ? Double.NaN : st.phaseOnsetTraining().step());
  }

  private void onsetGauge(String name, Tags tags) {
    ToDoubleFunction<LayerState> value =
        st ->
            st.phaseOnsetTraining() == null
                ? Double.NaN
                : st.phaseOnsetTraining().scalars().value(name).orElse(Double.NaN);
    switch (name) {
      case TrainingScalars.LOSS ->
          gauge(
              PHASE_ONSET_TRAINING_LOSS,
              "training loss of the window at or before the current phase's onset",
              null,
              tags,
              value);
      case TrainingScalars.LEARNING_RATE ->
          gauge(
              PHASE_ONSET_TRAINING_LEARNING_RATE,
              "learning rate of the window at or before the current phase's onset",
              null,
              tags,
              value);
      default ->
          gauge(
              PHASE_ONSET_TRAINING_SCALAR,
              "a named training scalar of the window at or before the current phase's onset",
              null,
              tags.and(TAG_NAME, name),
              value);
    }
  }

  /** Counts one detected transition. */
  public void transition(Stage s, Phase from, Phase to) {
    transitions(s, from, to, 1);
  }

  /** Counts {@code count} detected transitions at once (a layer revealed after its replay). */
  public void transitions(Stage s, Phase from, Phase to, long count) {
    String key = s.label() + "/" + from.label() + "/" + to.label();
    AtomicLong held = transitionCounts.get(key);
    if (held == null) {
      held = new AtomicLong(count);
      transitionCounts.put(key, held);
      transitions.put(
          key,
          FunctionCounter.builder(PHASE_TRANSITIONS, held, AtomicLong::get)
              .description("phase transitions detected")
              .tags(tags(s).and(TAG_FROM, from.label(), TAG_TO, to.label()))
              .register(registry));
    } else {
      held.addAndGet(count);
    }
  }

  /** Removes every meter of this layer from the registry. */
  public void remove() {
    gauges.forEach(registry::remove);
    gauges.clear();
    transitions.values().forEach(registry::remove);
    transitions.clear();
    transitionCounts.clear();
    onsetNames.clear();
    onsetNamed = 0;
    stage = null;
  }

  private Tags tags(Stage s) {
    return Tags.of(TAG_RUN, run, TAG_LAYER, layer, TAG_STAGE, s.label());
  }

  private void gauge(
      String name, String description, String unit, Tags tags, ToDoubleFunction<LayerState> f) {
    gauges.add(
        Gauge.builder(
                name,
                state,
                ref -> {
                  LayerState st = ref.get();
                  return st == null ? Double.NaN : f.applyAsDouble(st);
                })
            .baseUnit(unit)
            .description(description)
            .tags(tags)
            .strongReference(true)
            .register(registry));
  }
}
