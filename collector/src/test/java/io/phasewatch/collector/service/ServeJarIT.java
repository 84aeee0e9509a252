package io.phasewatch.collector.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code java -jar target/phasewatch-collector.jar serve} as an operator runs it, with a mistake in
 * its configuration: one line on stderr that names the key and the problem, exit code 2, no stack
 * trace, nothing started (no broker is needed to see it).
 */
class ServeJarIT {

  private static final Path JAR = Path.of("target", "phasewatch-collector.jar");

  @TempDir Path tmp;

  @Test
  void aMistypedFlagKeyIsOneLineNamingTheKeyAndTheClosestOne() throws Exception {
    Result r = serve(Map.of(), "--set", "kafka.security.protocl=SSL");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err())
        .isEqualTo(
            "phasewatch-collector serve: collector config: kafka.security.protocl (--set"
                + " kafka.security.protocl): not a Kafka consumer, producer or admin client"
                + " property (closest: 'security.protocol'), got 'SSL'\n");
  }

  @Test
  void aBadValueFromTheEnvironmentNamesTheVariable() throws Exception {
    Result r = serve(Map.of("PHASEWATCH_MERGE_TIMEOUT", "30"));
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err().lines()).hasSize(1);
    assertThat(r.err())
        .startsWith("phasewatch-collector serve: collector config: merge.timeout")
        .contains("PHASEWATCH_MERGE_TIMEOUT", "a bare number has no unit", "got '30'");
  }

  @Test
  void anUnknownKeyInTheFileIsOneLineToo() throws Exception {
    Path yaml = tmp.resolve("collector.yaml");
    Files.writeString(yaml, "http:\n  prot: 9000\n");
    Result r = serve(Map.of(), "--config", yaml.toString());
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err())
        .isEqualTo(
            "phasewatch-collector serve: collector config: unknown key 'http.prot' (YAML key in"
                + " file "
                + yaml
                + "); closest known key: 'http.port'\n");
  }

  private record Result(int exit, String err) {}

  private Result serve(Map<String, String> env, String... args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(List.of("-jar", JAR.toString(), "serve"));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().keySet().removeIf(k -> k.startsWith("PHASEWATCH_"));
    pb.environment().putAll(env);
    Path err = tmp.resolve("err.txt");
    Process p =
        pb.redirectError(err.toFile()).redirectOutput(tmp.resolve("out.txt").toFile()).start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("serve exits").isTrue();
    return new Result(p.exitValue(), Files.readString(err, StandardCharsets.UTF_8));
  }
}
