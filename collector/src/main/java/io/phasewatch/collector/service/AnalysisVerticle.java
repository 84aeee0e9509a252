package io.phasewatch.collector.service;

import io.phasewatch.collector.ingest.MergedWindow;
import io.phasewatch.collector.ingest.WindowSink;
import io.phasewatch.collector.metrics.CollectorMetrics;
import io.phasewatch.collector.spectrum.FitRange;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.WorkerExecutor;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Runs the eigen work of merged windows on the named worker pool {@value #POOL}, never on the event
 * loop. Windows of one (run, layer) are chained: at most one computation per layer is in flight and
 * they run in window order, which the phase detector needs. Nothing is coalesced away: a bounded
 * number of windows ({@code analysis.max-queued-windows}) may wait, and beyond it {@link #accept}
 * blocks the ingest thread, which stops polling Kafka until the pool catches up. So every window
 * reaches the detector, and a restarted collector sees the same series as one that never stopped.
 */
public final class AnalysisVerticle extends VerticleBase implements WindowSink {

  /** Name of the worker pool (it shows in thread names and Vert.x metrics). */
  public static final String POOL = "phasewatch-spectrum";

  private static final Logger LOG = Logger.getLogger(AnalysisVerticle.class.getName());

  private final CollectorState state;
  private final CollectorMetrics metrics;
  private final FitRange fit;
  private final int threads;
  private final Semaphore queued;
  private final int maxQueuedWindows;
  // Touched only on this verticle's event-loop context.
  private final Map<String, Future<Void>> tails = new HashMap<>();
  private WorkerExecutor pool;
  private boolean loggedFirstWindow;

  public AnalysisVerticle(
      CollectorState state,
      CollectorMetrics metrics,
      FitRange fit,
      int threads,
      int maxQueuedWindows) {
    this.state = state;
    this.metrics = metrics;
    this.fit = fit;
    this.threads = threads;
    this.queued = new Semaphore(maxQueuedWindows);
    this.maxQueuedWindows = maxQueuedWindows;
  }

  @Override
  public Future<?> start() {
    pool = vertx.createSharedWorkerExecutor(POOL, threads);
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    return pool.close();
  }

  @Override
  public void accept(MergedWindow window) throws InterruptedException {
    queued.acquire();
    context.runOnContext(v -> enqueue(window, false));
  }

  @Override
  public void acceptReplayed(MergedWindow window) throws InterruptedException {
    queued.acquire();
    context.runOnContext(v -> enqueue(window, true));
  }

  @Override
  public void reveal(String run, String layer) {
    context.runOnContext(
        v -> {
          // After the layer's queued windows: its meters then show the state they rebuilt.
          String key = run + '\u0000' + layer;
          LayerHandle handle = state.existing(run, layer);
          if (handle != null) {
            tails
                .getOrDefault(key, Future.succeededFuture())
                .onComplete(
                    ignored ->
                        pool.executeBlocking(
                            () -> {
                              handle.reveal();
                              return null;
                            },
                            false));
          }
        });
  }

  @Override
  public void evict(String run) {
    context.runOnContext(
        v -> {
          if (state.evict(run)) {
            metrics.runEvicted();
          }
        });
  }

  private static String firstWindowLine(io.phasewatch.collector.metrics.LayerState l) {
    var m = l.measures();
    return String.format(
        java.util.Locale.ROOT,
        "first window measured: run=%s, layer=%s, step %d, %d rows x d=%d, RankMe %.4g,"
            + " alpha %.4g%s; GET /api/runs lists it",
        l.run(),
        l.layer(),
        l.step(),
        m.count(),
        m.dimension(),
        m.effectiveRank(),
        m.alpha(),
        m.alphaNote().isEmpty() ? "" : " (" + m.alphaNote() + ")");
  }

  @Override
  public void release(String run, String layer) {
    // Runs after the layer's windows already queued were enqueued: they hold the closed handle,
    // so their results are dropped; windows a later re-assignment brings get a new handle.
    context.runOnContext(v -> state.release(run, layer));
  }

  /** Windows accepted and not yet published (tests and the benchmark wait for zero). */
  public int inFlight() {
    return maxQueuedWindows - queued.availablePermits();
  }

  private void enqueue(MergedWindow w, boolean replayed) {
    String key = w.run() + '\u0000' + w.layer();
    LayerHandle handle = state.layer(w.run(), w.layer());
    if (replayed) {
      handle.hideIfNew();
    }
    Future<Void> previous = tails.getOrDefault(key, Future.succeededFuture());
    Promise<Void> done = Promise.promise();
    tails.put(key, done.future());
    previous.onComplete(
        ignored ->
            pool.<Void>executeBlocking(
                    () -> {
                      // Scalars first: the layer looks up those at its phase's onset, which
                      // can be this window.
                      state.trainingScalars(w);
                      handle.apply(w, fit, metrics, state::event);
                      return null;
                    },
                    false)
                .onComplete(
                    ar -> {
                      queued.release();
                      if (ar.failed()) {
                        metrics.rejected("bad_field");
                        LOG.log(
                            Level.WARNING,
                            "window "
                                + w.windowId()
                                + " of run="
                                + w.run()
                                + ", layer="
                                + w.layer()
                                + " set aside: "
                                + ar.cause().getMessage(),
                            ar.cause());
                      } else if (!loggedFirstWindow) {
                        loggedFirstWindow = true;
                        handle.latest().ifPresent(l -> LOG.info(firstWindowLine(l)));
                      }
                      if (tails.get(key) == done.future()) {
                        tails.remove(key);
                      }
                      done.complete();
                    }));
  }
}
