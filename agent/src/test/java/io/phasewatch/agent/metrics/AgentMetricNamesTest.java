package io.phasewatch.agent.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.phasewatch.agent.config.AgentConfigLoader;
import io.phasewatch.agent.core.PhasewatchAgent;
import io.phasewatch.agent.spool.SidecarConfig;
import io.phasewatch.agent.spool.SpoolSidecar;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The agent side's meter names are exactly those of docs/metrics.md, and come from one class. */
class AgentMetricNamesTest {

  private static final Pattern DOC_NAME =
      Pattern.compile("^\\| `(phasewatch\\.(?:agent|sidecar|checkpoint)\\.[a-z.]+)` \\|");

  @TempDir Path dir;

  @Test
  void everyNameInTheClassIsDocumentedAndEveryDocumentedNameIsInTheClass() throws Exception {
    assertThat(documented()).isEqualTo(constants()).hasSizeGreaterThan(25);
  }

  @Test
  void theAgentAndTheSidecarRegisterOnlyNamesOfTheClass() throws Exception {
    var registry = new SimpleMeterRegistry();
    // An agent whose broker address leads nowhere: it still counts what it takes, drops and
    // buffers; a row of the wrong width and a window's close exercise the lazily built meters.
    var agent =
        PhasewatchAgent.start(
            AgentConfigLoader.load(
                "run: r\nwindow: {steps: 1}\n",
                Map.of(),
                Map.of("kafka.bootstrap.servers", "127.0.0.1:1", "kafka.max.block.ms", "200")),
            registry);
    agent.rows("h", 1, new float[] {1, 2, 3, 4}, 1, 4);
    agent.rows("h", 1, new float[] {1, 2, 3}, 1, 3);
    agent.stepEnded(1, 1, 1.0);
    agent.close(Duration.ofMillis(500));

    Path spool = Files.createDirectories(dir.resolve("spool"));
    // A file that is not an array: rejected, and counted by reason.
    Files.write(
        spool.resolve("run=r,layer=l,step=1.npy"), "not an array".getBytes(StandardCharsets.UTF_8));
    var sidecar =
        SpoolSidecar.withKafka(
            SidecarConfig.load(
                "",
                Map.of(),
                Map.of(
                    "spool.dir",
                    spool.toString(),
                    "kafka.bootstrap.servers",
                    "127.0.0.1:1",
                    "kafka.max.block.ms",
                    "200")),
            registry);
    sidecar.drainOnce();
    sidecar.close(Duration.ofMillis(200));

    Set<String> registered =
        registry.getMeters().stream()
            .map(Meter::getId)
            .map(Meter.Id::getName)
            .filter(n -> n.startsWith("phasewatch."))
            .collect(Collectors.toCollection(TreeSet::new));
    assertThat(registered)
        .contains(
            AgentMetricNames.SAMPLES_DROPPED,
            AgentMetricNames.WINDOWS_CLOSED,
            AgentMetricNames.SIDECAR_FILES_REJECTED,
            AgentMetricNames.SIDECAR_FILES_DONE);
    assertThat(constants()).containsAll(registered);
  }

  /** The values of the class's {@code public static final String} name constants. */
  private static Set<String> constants() throws IllegalAccessException {
    Set<String> out = new TreeSet<>();
    for (Field f : AgentMetricNames.class.getFields()) {
      if (Modifier.isStatic(f.getModifiers())
          && f.getType() == String.class
          && !f.getName().startsWith("TAG_")) {
        out.add((String) f.get(null));
      }
    }
    return out;
  }

  private static Set<String> documented() throws IOException {
    Path p = Path.of("docs/metrics.md");
    Path doc = Files.exists(p) ? p : Path.of("../docs/metrics.md");
    Set<String> out = new TreeSet<>();
    for (String line : Files.readAllLines(doc)) {
      Matcher m = DOC_NAME.matcher(line);
      if (m.find()) {
        out.add(m.group(1));
      }
    }
    return out;
  }
}
