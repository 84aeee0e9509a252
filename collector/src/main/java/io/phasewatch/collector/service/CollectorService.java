package io.phasewatch.collector.service;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.phasewatch.collector.config.CollectorConfig;
import io.phasewatch.collector.http.HttpApiVerticle;
import io.phasewatch.collector.ingest.ReconnectLogLimit;
import io.phasewatch.collector.metrics.CollectorMetrics;
import io.phasewatch.collector.spectrum.FitRange;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;

/**
 * The wiring: one registry, one state, and three verticles deployed in order — analysis (worker
 * pool), HTTP, then ingest (so nothing is consumed before it can be computed and scraped). {@link
 * #close()} undeploys them in reverse.
 */
public final class CollectorService {

  private final Vertx vertx;
  private final PrometheusMeterRegistry registry;
  private final CollectorState state;
  private final CollectorMetrics metrics;
  private final AnalysisVerticle analysis;
  private final HttpApiVerticle http;
  private final List<String> deployments = new ArrayList<>();

  private CollectorService(Vertx vertx, CollectorConfig config) {
    this.vertx = vertx;
    this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    this.state =
        new CollectorState(
            registry, config.api().maxPointsPerLayer(), config.api().maxEvents(), config.phases());
    this.metrics = new CollectorMetrics(registry, state::liveRuns);
    this.analysis =
        new AnalysisVerticle(
            state,
            metrics,
            FitRange.parse(config.analysis().fitRange()),
            config.analysis().workerThreads(),
            config.analysis().maxQueuedWindows());
    this.http =
        new HttpApiVerticle(
            config.http().host(), config.http().port(), registry, state, metrics::consumerReady);
  }

  /** Deploys the collector; the future fails (and nothing stays deployed) if any part fails. */
  public static Future<CollectorService> start(Vertx vertx, CollectorConfig config) {
    ReconnectLogLimit.install();
    CollectorService s = new CollectorService(vertx, config);
    IngestVerticle ingest = new IngestVerticle(config, s.metrics, s.analysis);
    return vertx
        .deployVerticle(s.analysis)
        .compose(
            id -> {
              s.deployments.add(id);
              return vertx.deployVerticle(s.http);
            })
        .compose(
            id -> {
              s.deployments.add(id);
              return vertx.deployVerticle(ingest);
            })
        .map(
            id -> {
              s.deployments.add(id);
              return s;
            })
        .recover(err -> s.close().transform(ignored -> Future.failedFuture(err)));
  }

  /** Undeploys ingest, HTTP and analysis, in that order. */
  public Future<Void> close() {
    Future<Void> chain = Future.succeededFuture();
    for (int i = deployments.size() - 1; i >= 0; i--) {
      String id = deployments.get(i);
      chain = chain.transform(ignored -> vertx.undeploy(id));
    }
    deployments.clear();
    return chain.andThen(ignored -> registry.close());
  }

  public int httpPort() {
    return http.actualPort();
  }

  public CollectorState state() {
    return state;
  }

  /** Windows handed to the analysis and not yet published. */
  public int windowsInFlight() {
    return analysis.inFlight();
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }
}
