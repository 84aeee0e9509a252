package io.phasewatch.collector.config;

import io.phasewatch.collector.phase.PhaseDetectorConfig;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;

/**
 * Everything the collector reads at start, one record. Built by {@link ConfigLoader}; the keys and
 * defaults are the table in docs/configuration.md ("## Collector").
 */
public record CollectorConfig(
    Kafka kafka,
    Http http,
    Limits limits,
    Chunks chunks,
    Merge merge,
    Analysis analysis,
    Api api,
    PhaseDetectorConfig phases) {

  public CollectorConfig {
    Objects.requireNonNull(kafka, "kafka");
    Objects.requireNonNull(http, "http");
    Objects.requireNonNull(limits, "limits");
    Objects.requireNonNull(chunks, "chunks");
    Objects.requireNonNull(merge, "merge");
    Objects.requireNonNull(analysis, "analysis");
    Objects.requireNonNull(api, "api");
    Objects.requireNonNull(phases, "phases");
    if (limits.runIdleTimeoutMillis() <= merge.timeoutMillis()) {
      throw new IllegalArgumentException(
          "collector config: limits.run-idle-timeout "
              + limits.runIdleTimeoutMillis()
              + "ms must exceed merge.timeout "
              + merge.timeoutMillis()
              + "ms");
    }
  }

  /** The defaults of docs/configuration.md. */
  public static CollectorConfig defaults() {
    return ConfigLoader.load(null, java.util.Map.of(), java.util.Map.of());
  }

  /**
   * @param client Kafka client properties from the {@code kafka.*} keys that are not the
   *     collector's own ({@code security.protocol}, {@code sasl.jaas.config}, …), each known to at
   *     least one of the consumer, the dead-letter producer and the admin client
   */
  public record Kafka(
      String bootstrapServers,
      String topic,
      String dlqTopic,
      String groupId,
      long pollTimeoutMillis,
      java.util.logging.Level clientLogLevel,
      Map<String, String> client) {
    public Kafka {
      client = Map.copyOf(client);
      Objects.requireNonNull(clientLogLevel, "kafka.client-log-level");
      nonBlank("kafka.bootstrap-servers", bootstrapServers);
      nonBlank("kafka.topic", topic);
      nonBlank("kafka.dlq-topic", dlqTopic);
      nonBlank("kafka.group-id", groupId);
      if (topic.equals(dlqTopic)) {
        throw new IllegalArgumentException(
            "collector config: kafka.dlq-topic must differ from kafka.topic '" + topic + "'");
      }
      positive("kafka.poll-timeout", pollTimeoutMillis);
    }

    /**
     * The client properties one client knows ({@code ConsumerConfig.configNames()}, say), so no
     * client warns about a setting meant for another; the caller adds its own settings after.
     */
    public Properties clientProperties(Set<String> known) {
      Properties p = new Properties();
      client.forEach(
          (k, v) -> {
            if (known.contains(k)) {
              p.put(k, v);
            }
          });
      return p;
    }
  }

  public record Http(String host, int port) {
    public Http {
      nonBlank("http.host", host);
      if (port < 0 || port > 65_535) {
        throw new IllegalArgumentException(
            "collector config: http.port " + port + " outside 0..65535 (0 picks a free port)");
      }
    }
  }

  public record Limits(
      int maxRuns,
      int maxLayersPerRun,
      long runIdleTimeoutMillis,
      int maxDimension,
      int maxEll,
      int maxRecordBytes,
      int maxSnapshotBytes) {
    public Limits {
      positive("limits.max-runs", maxRuns);
      positive("limits.max-layers-per-run", maxLayersPerRun);
      positive("limits.run-idle-timeout", runIdleTimeoutMillis);
      positive("limits.max-dimension", maxDimension);
      positive("limits.max-ell", maxEll);
      positive("limits.max-record-bytes", maxRecordBytes);
      positive("limits.max-snapshot-bytes", maxSnapshotBytes);
    }
  }

  public record Chunks(long timeoutMillis, int maxPendingSnapshots, long maxPendingBytes) {
    public Chunks {
      positive("chunks.timeout", timeoutMillis);
      positive("chunks.max-pending-snapshots", maxPendingSnapshots);
      positive("chunks.max-pending-bytes", maxPendingBytes);
    }
  }

  public record Merge(
      long timeoutMillis,
      int maxPendingWindowsPerLayer,
      long maxPendingBytes,
      int rememberedWindows) {
    public Merge {
      positive("merge.timeout", timeoutMillis);
      positive("merge.max-pending-windows-per-layer", maxPendingWindowsPerLayer);
      positive("merge.max-pending-bytes", maxPendingBytes);
      positive("merge.remembered-windows", rememberedWindows);
    }
  }

  public record Analysis(int workerThreads, int maxQueuedWindows, String fitRange) {
    public Analysis {
      positive("analysis.worker-threads", workerThreads);
      positive("analysis.max-queued-windows", maxQueuedWindows);
      nonBlank("analysis.fit-range", fitRange);
    }
  }

  public record Api(int maxPointsPerLayer, int maxEvents) {
    public Api {
      positive("api.max-points-per-layer", maxPointsPerLayer);
      positive("api.max-events", maxEvents);
    }
  }

  private static void nonBlank(String key, String value) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException("collector config: " + key + " must not be empty");
    }
  }

  private static void positive(String key, long value) {
    if (value < 1) {
      throw new IllegalArgumentException("collector config: " + key + " must be ≥ 1, got " + value);
    }
  }
}
