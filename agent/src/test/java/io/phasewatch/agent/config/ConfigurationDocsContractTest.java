package io.phasewatch.agent.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.phasewatch.agent.spool.SidecarConfig;
import io.phasewatch.core.config.ConfigDocs;
import io.phasewatch.core.config.Units;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The Agent and Sidecar tables of docs/configuration.md list exactly the keys the code reads. */
class ConfigurationDocsContractTest {

  private static final String DOC = ConfigDocs.read();

  @Test
  void theAgentTableHasEveryKeyWithItsDefault() {
    Map<String, String> table = ConfigDocs.table(DOC, "## Agent");
    assertThat(table)
        .containsExactlyEntriesOf(documented(AgentConfigLoader.KEYS.defaults(), table));
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
    Map<String, String> table = ConfigDocs.table(DOC, "## Sidecar");
    assertThat(table).containsExactlyEntriesOf(documented(spool, table));
  }

  /**
   * Defaults as the docs write them: lists as {@code []}, none as a dash, and a size in code
   * ({@code 16777216}) as the docs' spelling of the same number of bytes ({@code 16MiB}).
   */
  private static Map<String, String> documented(
      Map<String, Object> defaults, Map<String, String> docs) {
    var out = new LinkedHashMap<String, String>();
    defaults.forEach(
        (k, v) -> {
          String text =
              v == null ? null : v instanceof List<?> l && l.isEmpty() ? "[]" : v.toString();
          String doc = docs.get(k);
          out.put(k, text != null && doc != null && sameSize(text, doc) ? doc : text);
        });
    return out;
  }

  private static boolean sameSize(String a, String b) {
    try {
      return Units.bytes(a) == Units.bytes(b);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }
}
