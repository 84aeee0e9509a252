package io.phasewatch.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class UnitsTest {

  @Test
  void sizesAreBinaryAndAPlainIntegerIsBytes() {
    assertThat(Units.bytes("900000")).isEqualTo(900_000L);
    assertThat(Units.bytes("512B")).isEqualTo(512L);
    assertThat(Units.bytes("64KiB")).isEqualTo(65_536L);
    assertThat(Units.bytes("64MiB")).isEqualTo(67_108_864L);
    assertThat(Units.bytes("1GiB")).isEqualTo(1_073_741_824L);
    assertThat(Units.bytes("2 TiB")).isEqualTo(2_199_023_255_552L);
    assertThat(Units.bytes("8mib")).isEqualTo(8_388_608L);
  }

  @Test
  void decimalUnitsAndOverflowAreRefused() {
    assertThatThrownBy(() -> Units.bytes("64MB")).hasMessageContaining("MiB, not MB");
    assertThatThrownBy(() -> Units.bytes("8388608TiB")).hasMessageContaining("below 2^63");
    assertThatThrownBy(() -> Units.bytes("-1")).hasMessageContaining(Units.SIZE_FORM);
    assertThatThrownBy(() -> Units.bytes("1.5GiB")).hasMessageContaining(Units.SIZE_FORM);
  }

  @Test
  void durationsNeedTheirUnit() {
    assertThat(Units.duration("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(Units.duration("30s")).isEqualTo(Duration.ofSeconds(30));
    assertThat(Units.duration("5m")).isEqualTo(Duration.ofMinutes(5));
    assertThat(Units.duration("1h")).isEqualTo(Duration.ofHours(1));
    assertThatThrownBy(() -> Units.duration("30000")).hasMessageContaining("a bare number");
    assertThatThrownBy(() -> Units.duration("5 minutes")).hasMessageContaining(Units.DURATION_FORM);
  }

  @Test
  void editDistanceCountsSingleCharacterEdits() {
    assertThat(ConfigKeys.editDistance("http.prot", "http.port")).isEqualTo(2);
    assertThat(ConfigKeys.editDistance("", "abc")).isEqualTo(3);
    assertThat(ConfigKeys.editDistance("merge.timout", "merge.timeout")).isEqualTo(1);
  }
}
