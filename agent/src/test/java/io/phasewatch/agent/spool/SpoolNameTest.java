package io.phasewatch.agent.spool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.phasewatch.agent.spool.SpoolName.Format;
import io.phasewatch.core.wire.Stage;
import java.util.Optional;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.StringLength;
import org.junit.jupiter.api.Test;

class SpoolNameTest {

  @Test
  void theContractsExampleParsesToItsFields() {
    SpoolName n =
        SpoolName.parse("run=exp7,stage=sft,rank=0,world=8,layer=model.layers.11,step=12000.npy");
    assertThat(n)
        .isEqualTo(
            new SpoolName(
                "exp7", Stage.SFT, 0, 8, Optional.of("model.layers.11"), 12000, 0, Format.NPY));
  }

  @Test
  void absentKeysTakeTheirDefaults() {
    SpoolName n = SpoolName.parse("step=3,run=r,layer=h.npy");
    assertThat(n.stage()).isEqualTo(Stage.PRETRAIN);
    assertThat(n.rank()).isZero();
    assertThat(n.world()).isEqualTo(1);
    assertThat(n.tokens()).isZero();
  }

  @Test
  void valuesArePercentDecodedAsRfc3986NotAsForms() {
    SpoolName n = SpoolName.parse("run=a%2Cb+c,layer=model%2Fnorm%3D%C3%A9,step=1,tokens=4096.npy");
    assertThat(n.run()).isEqualTo("a,b+c");
    assertThat(n.layer()).contains("model/norm=é");
    assertThat(n.tokens()).isEqualTo(4096);
  }

  @Test
  void multiArrayFormatsTakeLayerNamesFromTheirArrays() {
    assertThat(SpoolName.parse("run=r,step=5.npz").format()).isEqualTo(Format.NPZ);
    assertThat(SpoolName.parse("run=r,step=5.safetensors").layer()).isEmpty();
    assertThatThrownBy(() -> SpoolName.parse("run=r,layer=x,step=5.npz"))
        .hasMessageContaining("layer= is only for .npy");
  }

  @Test
  void badNamesAreRefusedNamingTheKey() {
    assertThatThrownBy(() -> SpoolName.parse("run=r,layer=x,step=1.txt"))
        .hasMessageContaining("unknown extension");
    assertThatThrownBy(() -> SpoolName.parse("layer=x,step=1.npy"))
        .hasMessageContaining("run is required");
    assertThatThrownBy(() -> SpoolName.parse("run=r,layer=x.npy"))
        .hasMessageContaining("step is required");
    assertThatThrownBy(() -> SpoolName.parse("run=r,step=1.npy"))
        .hasMessageContaining("layer is required");
    assertThatThrownBy(() -> SpoolName.parse("run=r,layer=x,step=1,colour=red.npy"))
        .hasMessageContaining("unknown key 'colour'");
    assertThatThrownBy(() -> SpoolName.parse("run=r,run=s,layer=x,step=1.npy"))
        .hasMessageContaining("'run' given twice");
    assertThatThrownBy(() -> SpoolName.parse("run=r,layer=x,step=-1.npy"))
        .hasMessageContaining("step must be an integer");
    assertThatThrownBy(() -> SpoolName.parse("run=r,layer=x,step=01.npy"))
        .hasMessageContaining("step must be an integer");
    assertThatThrownBy(() -> SpoolName.parse("run=r,layer=x,step=1,rank=8,world=8.npy"))
        .hasMessageContaining("rank 8 outside world 8");
    assertThatThrownBy(() -> SpoolName.parse("run=r,stage=warmup,layer=x,step=1.npy"))
        .hasMessageContaining("stage");
    assertThatThrownBy(() -> SpoolName.parse("run=a%2Fb,layer=x,step=1.npy"))
        .hasMessageContaining("run must be non-empty and hold no '/'");
    assertThatThrownBy(() -> SpoolName.parse("run=r,layer=x%2,step=1.npy"))
        .hasMessageContaining("layer: '%' at 1 is not followed by two hex digits");
    assertThatThrownBy(() -> SpoolName.parse("run=r,layer=%FF,step=1.npy"))
        .hasMessageContaining("does not decode as UTF-8");
    assertThatThrownBy(() -> SpoolName.parse("run=,layer=x,step=1.npy"))
        .hasMessageContaining("run is empty");
    assertThatThrownBy(() -> SpoolName.parse("run=r,layer=x,step=1" + "0".repeat(2000) + ".npy"))
        .hasMessageContaining("exceeds limit " + SpoolName.MAX_NAME_CHARS);
  }

  @Property
  void canonicalNamesParseBackToTheSameMetadata(
      @ForAll @StringLength(min = 1, max = 40) String run,
      @ForAll @StringLength(min = 1, max = 40) String layer,
      @ForAll @IntRange(min = 1, max = 64) int world,
      @ForAll @IntRange(min = 0, max = 63) int rankSeed,
      @ForAll @LongRange(min = 0, max = Long.MAX_VALUE) long step,
      @ForAll Stage stage) {
    if (run.contains("/") || !isValidUnicode(run) || !isValidUnicode(layer)) {
      return;
    }
    var n =
        new SpoolName(run, stage, rankSeed % world, world, Optional.of(layer), step, 0, Format.NPY);
    assertThat(SpoolName.parse(n.fileName())).isEqualTo(n);
  }

  private static boolean isValidUnicode(String s) {
    return s.codePoints().noneMatch(c -> c >= 0xD800 && c <= 0xDFFF);
  }
}
