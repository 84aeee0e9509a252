package io.phasewatch.agent.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.phasewatch.agent.spool.SidecarConfig;
import io.phasewatch.core.config.ConfigDocs;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The Agent and Sidecar tables of docs/configuration.md list exactly the keys the code reads. */
class ConfigurationDocsContractTest {

  private static final String DOC = ConfigDocs.read();

  @Test
  void theAgentTableHasEveryKeyWithItsDefault() {
    assertThat(ConfigDocs.table(DOC, "## Agent"))
        .containsExactlyEntriesOf(documented(AgentConfigLoader.KEYS.defaults()));
  }

  @Test
  void theSidecarTableHasEverySpoolKeyWithItsDefault() {
    var spool = new LinkedHashMap<String, Object>();
    SidecarConfig.KEYS
        .defaults()
        .forEach(
            (k, v) -> {
              if (k.startsWith("spool.")) {
                spool.put(k, v);
              }
            });
    assertThat(ConfigDocs.table(DOC, "## Sidecar")).containsExactlyEntriesOf(documented(spool));
  }

  /** Defaults as the docs write them: lists as {@code []}, none as a dash. */
  private static Map<String, String> documented(Map<String, Object> defaults) {
    var out = new LinkedHashMap<String, String>();
    defaults.forEach(
        (k, v) ->
            out.put(
                k, v == null ? null : v instanceof List<?> l && l.isEmpty() ? "[]" : v.toString()));
    return out;
  }
}
