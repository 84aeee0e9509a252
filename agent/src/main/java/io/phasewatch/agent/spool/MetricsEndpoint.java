package io.phasewatch.agent.spool;

import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Measurement;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.config.NamingConvention;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;

/**
 * {@code GET /metrics}: the sidecar's own meters (spool and publisher: files done, rejected and
 * dropped, snapshots sent, waiting in the outbox, not sent) in the Prometheus text format 0.0.4, on
 * a JDK HTTP server with one thread. Written here rather than through a Prometheus registry so the
 * agent jar stays small; names are the meters' dot names in snake case, counters with {@code
 * _total}. Only GET; off unless {@code watch --metrics-port} asks for it.
 */
public final class MetricsEndpoint implements AutoCloseable {

  private final HttpServer server;

  private MetricsEndpoint(HttpServer server) {
    this.server = server;
  }

  /** Serves {@code registry} on {@code host:port} (port 0 picks a free one). */
  public static MetricsEndpoint start(MeterRegistry registry, String host, int port)
      throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 16);
    server.createContext(
        "/metrics",
        exchange -> {
          try (exchange) {
            if (!"GET".equals(exchange.getRequestMethod())) {
              exchange.getResponseHeaders().add("Allow", "GET");
              exchange.sendResponseHeaders(405, -1);
              return;
            }
            byte[] body = exposition(registry).getBytes(StandardCharsets.UTF_8);
            exchange
                .getResponseHeaders()
                .add("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
              out.write(body);
            }
          }
        });
    server.start();
    return new MetricsEndpoint(server);
  }

  public int port() {
    return server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(0);
  }

  /** The registry's meters as Prometheus text: one TYPE line per name, samples sorted. */
  static String exposition(MeterRegistry registry) {
    TreeMap<String, String> types = new TreeMap<>();
    TreeMap<String, List<String>> samples = new TreeMap<>();
    List<Meter> meters = new ArrayList<>(registry.getMeters());
    meters.sort(Comparator.comparing(m -> m.getId().getName()));
    for (Meter m : meters) {
      String base = m.getId().getConventionName(NamingConvention.snakeCase);
      String labels = labels(m.getId().getTags());
      if (m instanceof Counter c) {
        add(types, samples, base + "_total", "counter", labels, c.count());
      } else if (m instanceof FunctionCounter c) {
        add(types, samples, base + "_total", "counter", labels, c.count());
      } else if (m instanceof Gauge g) {
        add(types, samples, base, "gauge", labels, g.value());
      } else {
        for (Measurement x : m.measure()) {
          String suffix = "_" + x.getStatistic().name().toLowerCase(Locale.ROOT);
          add(types, samples, base + suffix, "untyped", labels, x.getValue());
        }
      }
    }
    StringBuilder out = new StringBuilder();
    samples.forEach(
        (name, lines) -> {
          out.append("# TYPE ").append(name).append(' ').append(types.get(name)).append('\n');
          lines.forEach(l -> out.append(l).append('\n'));
        });
    return out.toString();
  }

  private static void add(
      TreeMap<String, String> types,
      TreeMap<String, List<String>> samples,
      String name,
      String type,
      String labels,
      double value) {
    types.putIfAbsent(name, type);
    samples.computeIfAbsent(name, n -> new ArrayList<>()).add(name + labels + " " + number(value));
  }

  private static String number(double v) {
    if (Double.isNaN(v)) {
      return "NaN";
    }
    if (Double.isInfinite(v)) {
      return v > 0 ? "+Inf" : "-Inf";
    }
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
  }

  private static String labels(List<Tag> tags) {
    if (tags.isEmpty()) {
      return "";
    }
    StringBuilder b = new StringBuilder("{");
    for (Tag t : tags) {
      if (b.length() > 1) {
        b.append(',');
      }
      b.append(NamingConvention.snakeCase.tagKey(t.getKey())).append("=\"");
      for (char ch : t.getValue().toCharArray()) {
        switch (ch) {
          case '\\' -> b.append("\\\\");
          case '"' -> b.append("\\\"");
          case '\n' -> b.append("\\n");
          default -> b.append(ch);
        }
      }
      b.append('"');
    }
    return b.append('}').toString();
  }
}
