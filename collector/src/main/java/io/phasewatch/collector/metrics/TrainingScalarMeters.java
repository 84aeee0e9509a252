package io.phasewatch.collector.metrics;

import static io.phasewatch.collector.metrics.MetricNames.*;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.phasewatch.core.wire.TrainingScalars;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * The per-run gauges of the training scalars (docs/metrics.md): the latest known value of each,
 * that is a name missing from a window keeps the value of the last window that had it. At most
 * {@link TrainingScalars#MAX_SCALARS} user-named scalars per run, so the {@code name} label stays
 * bounded; later names are left out (logged once). Thread-safe.
 */
public final class TrainingScalarMeters {

  private static final Logger LOG = Logger.getLogger(TrainingScalarMeters.class.getName());

  private final MeterRegistry registry;
  private final String run;
  private final Map<String, Double> latest = new ConcurrentHashMap<>();
  private final List<Meter> meters = new ArrayList<>();
  private long step = -1;
  private int named;
  private boolean loggedLimit;

  public TrainingScalarMeters(MeterRegistry registry, String run) {
    this.registry = registry;
    this.run = run;
  }

  /** The scalars of a window at {@code step}, newer than every earlier update. */
  public synchronized void update(long step, TrainingScalars scalars) {
    if (meters.isEmpty()) {
      register(
          TRAINING_SCALARS_STEP,
          "training step of the latest window that carried training scalars",
          null,
          Tags.of(TAG_RUN, run),
          () -> this.step < 0 ? Double.NaN : this.step);
    }
    this.step = step;
    for (var e : scalars.values().entrySet()) {
      String name = e.getKey();
      if (!latest.containsKey(name) && !registerFor(name)) {
        continue;
      }
      latest.put(name, e.getValue().value());
    }
  }

  private boolean registerFor(String name) {
    Tags tags = Tags.of(TAG_RUN, run);
    switch (name) {
      case TrainingScalars.LOSS ->
          register(
              TRAINING_LOSS,
              "mean training loss over the steps of the latest window (count-weighted over ranks)",
              null,
              tags,
              () -> value(name));
      case TrainingScalars.LEARNING_RATE ->
          register(
              TRAINING_LEARNING_RATE,
              "learning rate at the last step of the latest window",
              null,
              tags,
              () -> value(name));
      default -> {
        if (named >= TrainingScalars.MAX_SCALARS) {
          if (!loggedLimit) {
            loggedLimit = true;
            LOG.warning(
                "phasewatch: run "
                    + run
                    + " names more than "
                    + TrainingScalars.MAX_SCALARS
                    + " training scalars; '"
                    + name
                    + "' and later names are not exported");
          }
          return false;
        }
        named++;
        register(
            TRAINING_SCALAR,
            "latest value of a training scalar the user named (mean over ranks)",
            null,
            tags.and(TAG_NAME, name),
            () -> value(name));
      }
    }
    return true;
  }

  private double value(String name) {
    return latest.getOrDefault(name, Double.NaN);
  }

  private void register(
      String name,
      String description,
      String unit,
      Tags tags,
      java.util.function.DoubleSupplier f) {
    meters.add(
        Gauge.builder(name, f, java.util.function.DoubleSupplier::getAsDouble)
            .baseUnit(unit)
            .description(description)
            .tags(tags)
            .strongReference(true)
            .register(registry));
  }

  /** Ends every series of this run. */
  public synchronized void remove() {
    meters.forEach(registry::remove);
    meters.clear();
    latest.clear();
    named = 0;
  }
}
