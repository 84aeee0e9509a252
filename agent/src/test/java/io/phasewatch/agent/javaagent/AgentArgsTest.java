package io.phasewatch.agent.javaagent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.AlphaChars;
import net.jqwik.api.constraints.NumericChars;
import net.jqwik.api.constraints.StringLength;
import org.junit.jupiter.api.Test;

class AgentArgsTest {

  @Test
  void aBareArgumentIsTheConfigFile() {
    AgentArgs a = AgentArgs.parse("/etc/phasewatch/agent.yaml");
    assertThat(a.configFile()).contains(Path.of("/etc/phasewatch/agent.yaml"));
    assertThat(a.flags()).isEmpty();
    assertThat(a.detach()).isFalse();
  }

  @Test
  void keysAfterTheFileOverrideItAndKeepCommasInLists() {
    AgentArgs a = AgentArgs.parse("agent.yaml;sampling.taps=layer*,final_norm;window.steps=50");
    assertThat(a.configFile()).contains(Path.of("agent.yaml"));
    assertThat(a.flags())
        .containsExactlyInAnyOrderEntriesOf(
            Map.of("sampling.taps", "layer*,final_norm", "window.steps", "50"));
  }

  @Test
  void keysAloneNeedNoFile() {
    AgentArgs a = AgentArgs.parse("run=r1;kafka.bootstrap.servers=k:9092");
    assertThat(a.configFile()).isEmpty();
    assertThat(a.flags())
        .containsEntry("run", "r1")
        .containsEntry("kafka.bootstrap.servers", "k:9092");
  }

  @Test
  void nullOrBlankIsNoFileAndNoKeys() {
    assertThat(AgentArgs.parse(null).flags()).isEmpty();
    assertThat(AgentArgs.parse("  ").configFile()).isEmpty();
  }

  @Test
  void detachIsAWordOfItsOwn() {
    assertThat(AgentArgs.parse("detach").detach()).isTrue();
  }

  @Test
  void aSecondFileOrAnEmptyKeyIsRejectedWithItsPosition() {
    assertThatThrownBy(() -> AgentArgs.parse("a.yaml;b.yaml"))
        .hasMessageContaining("part 2 'b.yaml' is not KEY=VALUE");
    assertThatThrownBy(() -> AgentArgs.parse("a.yaml;=x")).hasMessageContaining("empty key");
  }

  @Test
  void anOverlongArgumentIsRejectedWithTheLimit() {
    assertThatThrownBy(() -> AgentArgs.parse("x".repeat(AgentArgs.MAX_CHARS + 1)))
        .hasMessageContaining("exceeds limit " + AgentArgs.MAX_CHARS);
  }

  @Property
  void formatThenParseGivesTheSameArguments(
      @ForAll @AlphaChars @StringLength(min = 1, max = 12) String file,
      @ForAll @AlphaChars @StringLength(min = 1, max = 8) String key,
      @ForAll @NumericChars @AlphaChars @StringLength(max = 8) String value) {
    var flags = new LinkedHashMap<String, String>();
    flags.put("k." + key, value);
    var a = new AgentArgs(Optional.of(Path.of(file + ".yaml")), flags, false);
    assertThat(AgentArgs.parse(a.format())).isEqualTo(a);
  }
}
