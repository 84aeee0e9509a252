package io.phasewatch.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import io.phasewatch.agent.config.AgentConfigLoader;
import io.phasewatch.agent.core.PhasewatchAgent;
import io.phasewatch.collector.config.ConfigLoader;
import io.phasewatch.collector.service.CollectorService;
import io.phasewatch.core.wire.SnapshotCodec;
import io.phasewatch.demo.training.DemoTraining;
import io.phasewatch.demo.training.ModelConfig;
import io.phasewatch.testkit.KafkaBroker;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Training scalars end to end: a real DJL training loop (the small model, PyTorch engine) with the
 * agent attached in probe mode records its loss, learning rate and two named scalars; they travel
 * with the snapshots through a real KRaft broker into the real collector, and come out of a real
 * scrape of /metrics and of the JSON API, per window, equal to what the loop saw.
 */
class TrainingScalarsIT {

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final String RUN = "scalars-it";
  private static final int STEPS = 40;
  private static final int PROBE_EVERY = 10;

  @Test
  void scalarsADjlTrainingLoopRecordedArriveInMetricsAndTheApi() throws Exception {
    Vertx vertx = Vertx.vertx();
    try (KafkaBroker kafka = KafkaBroker.start()) {
      kafka.createTopic(SnapshotCodec.DEFAULT_TOPIC);
      CollectorService collector =
          CollectorService.start(
                  vertx,
                  ConfigLoader.load(
                      null,
                      Map.of(),
                      Map.of(
                          "kafka.bootstrap-servers",
                          kafka.bootstrapServers(),
                          "kafka.group-id",
                          RUN,
                          "http.port",
                          "0")))
              .await(120, TimeUnit.SECONDS);
      String base = "http://127.0.0.1:" + collector.httpPort();
      ModelConfig model = ModelConfig.demoDefaults();
      double[] losses = new double[STEPS + 1];
      try (PhasewatchAgent agent =
              PhasewatchAgent.builder(
                      AgentConfigLoader.load(
                          "",
                          Map.of(),
                          Map.of(
                              "run",
                              RUN,
                              "sampling.mode",
                              "probe",
                              "kafka.bootstrap.servers",
                              kafka.bootstrapServers())))
                  .start();
          DemoTraining trainer =
              DemoTraining.start(
                  new DemoTraining.Settings(
                      model,
                      new DemoTraining.Workload.Language(null),
                      List.of("final_norm"),
                      PROBE_EVERY,
                      64,
                      1.0,
                      // Dense probes over the whole run are exempt from the probe budget, so a
                      // loaded machine cannot stretch the cadence this test counts on.
                      STEPS,
                      PROBE_EVERY),
                  agent)) {
        for (int step = 1; step <= STEPS; step++) {
          losses[step] = trainer.step();
          if (step % PROBE_EVERY == 0) {
            // What a loop does after an evaluation: it names the result.
            agent.recordScalar("heldout.accuracy", step / 100.0);
            agent.recordScalar("eval_loss", 5.0 - step / 20.0);
          }
        }
        assertThat(trainer.probesRun()).isEqualTo(STEPS / PROBE_EVERY);
      }

      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> trainingPoints(base).size() == STEPS / PROBE_EVERY);
      JsonArray points = trainingPoints(base);
      for (int w = 0; w < points.size(); w++) {
        JsonObject p = points.getJsonObject(w);
        int last = (w + 1) * PROBE_EVERY;
        assertThat(p.getLong("step")).isEqualTo(last);
        JsonObject scalars = p.getJsonObject("scalars");
        // Probe mode: the window of the pass after step s holds the losses of the steps since the
        // previous pass, s − 9 … s, as the loop computed them (float, summed in double).
        double mean = 0;
        for (int s = last - PROBE_EVERY + 1; s <= last; s++) {
          mean += losses[s] / PROBE_EVERY;
        }
        assertThat(scalars.getDouble("loss")).isCloseTo(mean, within(1e-9));
        assertThat(p.getJsonObject("weights").getLong("loss")).isEqualTo(PROBE_EVERY);
        assertThat(scalars.getDouble("learning_rate"))
            .isEqualTo((double) model.learningRateAt(last));
        assertThat(scalars.getDouble("heldout.accuracy")).isEqualTo(last / 100.0);
        assertThat(scalars.getDouble("eval_loss")).isEqualTo(5.0 - last / 20.0);
      }

      JsonObject layerSeries =
          new JsonObject(get(base + "/api/runs/" + RUN + "/layers/final_norm/series").body());
      JsonObject lastPoint =
          layerSeries.getJsonArray("points").getJsonObject(STEPS / PROBE_EVERY - 1);
      assertThat(lastPoint.getLong("step")).isEqualTo(STEPS);
      assertThat(lastPoint.getJsonObject("scalars").getDouble("heldout.accuracy")).isEqualTo(0.4);
      assertThat(lastPoint.getDouble("effective_rank")).isGreaterThan(1.0);

      String scrape = get(base + "/metrics").body();
      JsonObject lastScalars = points.getJsonObject(points.size() - 1).getJsonObject("scalars");
      assertThat(value(scrape, "phasewatch_training_loss{run=\"" + RUN + "\"}"))
          .isEqualTo(lastScalars.getDouble("loss"));
      assertThat(value(scrape, "phasewatch_training_learning_rate{run=\"" + RUN + "\"}"))
          .isEqualTo((double) model.learningRateAt(STEPS));
      assertThat(
              value(
                  scrape,
                  "phasewatch_training_scalar{name=\"heldout.accuracy\",run=\"" + RUN + "\"}"))
          .isEqualTo(0.4);
      assertThat(
              value(scrape, "phasewatch_training_scalar{name=\"eval_loss\",run=\"" + RUN + "\"}"))
          .isEqualTo(3.0);
      assertThat(value(scrape, "phasewatch_training_scalars_step{run=\"" + RUN + "\"}"))
          .isEqualTo(STEPS);
      assertThat(scrape).contains("phasewatch_records_rejected_total{reason=\"bad_field\"} 0.0");
      collector.close().await(30, TimeUnit.SECONDS);
    } finally {
      vertx.close().await(30, TimeUnit.SECONDS);
    }
  }

  private static JsonArray trainingPoints(String base) throws Exception {
    return new JsonObject(get(base + "/api/runs/" + RUN + "/training").body())
        .getJsonArray("points");
  }

  /** The value of the one series {@code series} (name and labels as rendered) in a scrape. */
  private static double value(String scrape, String series) {
    List<Double> found = new ArrayList<>();
    Matcher m =
        Pattern.compile("^" + Pattern.quote(series) + " (\\S+)$", Pattern.MULTILINE)
            .matcher(scrape);
    while (m.find()) {
      found.add(Double.parseDouble(m.group(1)));
    }
    assertThat(found).as(series).hasSize(1);
    return found.get(0);
  }

  private static HttpResponse<String> get(String url) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
