package io.phasewatch.collector.http;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.phasewatch.collector.json.MeasuresJson;
import io.phasewatch.collector.metrics.LayerState;
import io.phasewatch.collector.metrics.TrainingPoint;
import io.phasewatch.collector.phase.PhaseTransition;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.StaticHandler;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * {@code GET /metrics} (Prometheus text format 0.0.4), {@code /health/live}, {@code /health/ready}
 * (ready while the consumer is assigned and polling), {@code /api/runs}, {@code
 * /api/runs/{run}/layers/{layer}/series}, {@code /api/runs/{run}/training} and {@code /api/events},
 * documented in docs/http-api.md, with the field names of {@link MeasuresJson}. Every handler only
 * reads immutable state, so all run on the event loop.
 */
public final class HttpApiVerticle extends VerticleBase {

  /** The Prometheus text exposition format the scrape answers in. */
  public static final String PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private static final String JSON = "application/json";

  private final String host;
  private final int port;
  private final PrometheusMeterRegistry registry;
  private final CollectorView state;
  private final BooleanSupplier ready;
  private HttpServer server;

  public HttpApiVerticle(
      String host,
      int port,
      PrometheusMeterRegistry registry,
      CollectorView state,
      BooleanSupplier ready) {
    this.host = host;
    this.port = port;
    this.registry = registry;
    this.state = state;
    this.ready = ready;
  }

  @Override
  public Future<?> start() {
    Router router = Router.router(vertx);
    router
        .get("/metrics")
        .handler(
            rc ->
                rc.response()
                    .putHeader("content-type", PROMETHEUS_CONTENT_TYPE)
                    .end(registry.scrape()));
    router.get("/health/live").handler(rc -> json(rc, 200, new JsonObject().put("status", "up")));
    router
        .get("/health/ready")
        .handler(
            rc -> {
              boolean ok = ready.getAsBoolean();
              json(rc, ok ? 200 : 503, new JsonObject().put("status", ok ? "ready" : "not_ready"));
            });
    router.get("/api/runs").handler(this::runs);
    router.get("/api/runs/:run/layers/:layer/series").handler(this::series);
    router.get("/api/runs/:run/training").handler(this::training);
    router.get("/api/events").handler(this::events);
    // The live page (index.html, script, style) ships inside the jar; it reads only the API above.
    router.get("/*").handler(StaticHandler.create("webroot").setCachingEnabled(false));
    // HTTP/1.1 only: Prometheus, Grafana and curl speak it, and answering clients that ask for a
    // cleartext HTTP/2 upgrade (h2c, the JDK client's default) mixed both protocols on one
    // connection under load; such clients simply stay on HTTP/1.1.
    return vertx
        .createHttpServer(new HttpServerOptions().setHttp2ClearTextEnabled(false))
        .requestHandler(router)
        .listen(port, host)
        .onSuccess(s -> server = s);
  }

  /** The bound port (useful with {@code http.port: 0}). */
  public int actualPort() {
    return server.actualPort();
  }

  private void runs(RoutingContext rc) {
    JsonArray runs = new JsonArray();
    for (Map.Entry<String, Map<String, LayerState>> run : state.latest().entrySet()) {
      JsonArray layers = new JsonArray();
      run.getValue()
          .values()
          .forEach(s -> layers.add(MeasuresJson.point(s).put(MeasuresJson.LAYER, s.layer())));
      JsonObject entry = new JsonObject().put("run", run.getKey()).put("layers", layers);
      List<TrainingPoint> training = state.trainingSeries(run.getKey());
      if (!training.isEmpty()) {
        entry.put("training", MeasuresJson.trainingPoint(training.get(training.size() - 1)));
      }
      runs.add(entry);
    }
    json(rc, 200, new JsonObject().put("runs", runs));
  }

  private void series(RoutingContext rc) {
    String run = rc.pathParam("run");
    String layer = rc.pathParam("layer");
    state
        .series(run, layer)
        .ifPresentOrElse(
            points -> {
              JsonArray arr = new JsonArray();
              points.forEach(
                  p -> {
                    JsonObject o = MeasuresJson.point(p);
                    state
                        .trainingAt(run, p.windowId())
                        .ifPresent(t -> o.put("scalars", MeasuresJson.scalarValues(t.scalars())));
                    arr.add(o);
                  });
              json(
                  rc, 200, new JsonObject().put("run", run).put("layer", layer).put("points", arr));
            },
            () ->
                json(
                    rc,
                    404,
                    new JsonObject()
                        .put("error", "no layer '" + layer + "' in run '" + run + "'")));
  }

  private void training(RoutingContext rc) {
    String run = rc.pathParam("run");
    JsonArray arr = new JsonArray();
    state.trainingSeries(run).forEach(t -> arr.add(MeasuresJson.trainingPoint(t)));
    json(rc, 200, new JsonObject().put("run", run).put("points", arr));
  }

  private void events(RoutingContext rc) {
    String run = rc.queryParams().get("run");
    List<PhaseTransition> events = state.events();
    JsonArray arr = new JsonArray();
    for (PhaseTransition t : events) {
      if (run == null || run.equals(t.run())) {
        arr.add(MeasuresJson.transition(t));
      }
    }
    json(rc, 200, new JsonObject().put("events", arr));
  }

  private static void json(RoutingContext rc, int status, JsonObject body) {
    rc.response().setStatusCode(status).putHeader("content-type", JSON).end(body.encode());
  }
}
