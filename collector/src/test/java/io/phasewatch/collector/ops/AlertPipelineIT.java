package io.phasewatch.collector.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The alerting path for real: deploy/e2e/alert-pipeline.sh starts Debian's Prometheus and
 * Alertmanager on loopback with the shipped rules and routes, Prometheus scrapes an exposition in
 * the collector's metric names (a layer of run e2e in compression_seeking during pretraining since
 * step 4200), and the headline alert must arrive in Alertmanager with its texts filled in. The
 * script must stop both servers afterwards.
 */
class AlertPipelineIT {

  private static final String EXPOSITION =
      """
      # TYPE phasewatch_phase gauge
      phasewatch_phase{run="e2e",layer="final",stage="pretrain",phase="warmup"} 0
      phasewatch_phase{run="e2e",layer="final",stage="pretrain",phase="entropy_seeking"} 0
      phasewatch_phase{run="e2e",layer="final",stage="pretrain",phase="compression_seeking"} 1
      phasewatch_phase{run="e2e",layer="final",stage="pretrain",phase="steady"} 0
      # TYPE phasewatch_phase_since_step gauge
      phasewatch_phase_since_step{run="e2e",layer="final",stage="pretrain"} 4200
      # TYPE phasewatch_last_step gauge
      phasewatch_last_step{run="e2e",layer="final",stage="pretrain"} 4800
      # TYPE phasewatch_effective_rank gauge
      phasewatch_effective_rank{run="e2e",layer="final",stage="pretrain"} 187.5
      # TYPE phasewatch_effective_rank_max gauge
      phasewatch_effective_rank_max{run="e2e",layer="final",stage="pretrain"} 240.0
      # TYPE phasewatch_alpha gauge
      phasewatch_alpha{run="e2e",layer="final",stage="pretrain"} 0.912
      """;

  private HttpServer server;

  @BeforeEach
  void serveExposition() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/metrics",
        exchange -> {
          byte[] body = EXPOSITION.getBytes(StandardCharsets.UTF_8);
          exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4");
          exchange.sendResponseHeaders(200, body.length);
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
          }
        });
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  @Test
  void compressionPhaseAlertArrivesInAlertmanagerAndTheServersAreStoppedAfterwards() {
    Tool.promtool();
    Tool.amtool();
    Tool.require("prometheus", "sudo apt-get install -y prometheus");
    Tool.require("prometheus-alertmanager", "sudo apt-get install -y prometheus-alertmanager");
    String target = "127.0.0.1:" + server.getAddress().getPort();

    Tool.Result r =
        Tool.run(
            Repo.root(),
            300,
            List.of(
                "bash",
                "deploy/e2e/alert-pipeline.sh",
                target,
                "PhasewatchCompressionPhaseStarted",
                "240"));

    assertThat(r.exitCode()).as(r.output()).isZero();
    assertThat(r.output())
        .contains("PhasewatchCompressionPhaseStarted arrived in Alertmanager")
        .contains("run=\"e2e\"")
        .contains("layer=\"final\"")
        .contains("severity=\"info\"")
        .contains("job=\"phasewatch-collector\"")
        .contains("compression-seeking phase began at step 4200")
        .contains("effective rank 187.5, α 0.912");
    Matcher pids = Pattern.compile("pid (\\d+)").matcher(r.output());
    int started = 0;
    while (pids.find()) {
      started++;
      long pid = Long.parseLong(pids.group(1));
      assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
          .as("process %d stopped", pid)
          .isFalse();
    }
    assertThat(started).isEqualTo(2);
  }
}
