package io.phasewatch.collector.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

class ReconnectLogLimitTest {

  private long now;
  private final List<String> logged = new ArrayList<>();

  private Logger logger() {
    Logger l = Logger.getAnonymousLogger();
    l.setUseParentHandlers(false);
    l.setFilter(new ReconnectLogLimit(Duration.ofSeconds(30), () -> now));
    l.addHandler(
        new Handler() {
          @Override
          public void publish(LogRecord r) {
            logged.add(r.getLevel() + " " + r.getMessage());
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        });
    return l;
  }

  @Test
  void aReconnectWarningRepeatedThroughAnOutagePassesOncePerIntervalAndCountsTheRest() {
    Logger l = logger();
    // Two a second for 84 s, as the client logs them through an outage, node ids varying.
    for (int i = 0; i < 168; i++) {
      now = i * 500_000_000L;
      l.warning(
          "[Consumer clientId=c-ingest, groupId=c] Connection to node "
              + (i % 2 == 0 ? "1" : "-1")
              + " (localhost/127.0.0.1:9092) could not be established. Node may not be"
              + " available.");
    }
    assertThat(logged).hasSize(3); // at 0 s, 30 s and 60 s
    assertThat(logged.get(0)).doesNotContain("not logged");
    assertThat(logged.get(1)).endsWith("(59 more like this in the last 30 s not logged)");
    assertThat(logged.get(2)).endsWith("(59 more like this in the last 30 s not logged)");
  }

  @Test
  void differentWarningsAndEverythingBelowWarningPass() {
    Logger l = logger();
    for (int i = 0; i < 5; i++) {
      l.warning("Bootstrap broker localhost:9092 (id: -1 rack: null) disconnected");
      l.warning("Connection to node 1 (localhost/127.0.0.1:9092) could not be established.");
      l.info("Node 1 disconnected.");
      l.log(Level.SEVERE, "something else " + (char) ('a' + i));
    }
    assertThat(logged).filteredOn(s -> s.startsWith("INFO")).hasSize(5);
    assertThat(logged).filteredOn(s -> s.startsWith("SEVERE")).hasSize(5);
    assertThat(logged).filteredOn(s -> s.startsWith("WARNING")).hasSize(2);
  }
}
