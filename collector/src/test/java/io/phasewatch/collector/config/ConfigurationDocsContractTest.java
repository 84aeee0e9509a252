package io.phasewatch.collector.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.phasewatch.core.config.ConfigDocs;
import org.junit.jupiter.api.Test;

/**
 * The Collector tables of docs/configuration.md list exactly the keys {@link ConfigLoader} reads,
 * with their defaults, and every deprecated spelling with its successor.
 */
class ConfigurationDocsContractTest {

  private static final String DOC = ConfigDocs.read();

  @Test
  void theCollectorTableHasEveryKeyWithItsDefault() {
    assertThat(ConfigDocs.table(DOC, "## Collector"))
        .containsExactlyEntriesOf(ConfigLoader.DEFAULTS);
  }

  @Test
  void theDeprecatedTableHasEveryOldSpellingWithItsSuccessor() {
    assertThat(ConfigDocs.table(DOC, "### Deprecated keys"))
        .containsExactlyEntriesOf(ConfigLoader.KEYS.deprecatedAliases());
  }
}
