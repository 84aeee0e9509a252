package io.phasewatch.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class DemoConsoleTest {

  @Test
  void headlessPrintsOnePlainLinePerUpdate() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DemoConsole console =
        new DemoConsole(new PrintStream(bytes, true, StandardCharsets.UTF_8), false);
    console.update(
        new DemoConsole.Progress(50, 200, 51_200, 3.25, 10, Double.NaN, Double.NaN),
        List.of(new DemoConsole.LayerRow("final_norm", 12.5, 1.234, "entropy_seeking", "-")));
    String out = bytes.toString(StandardCharsets.UTF_8);
    assertThat(out)
        .isEqualTo(
            "step 50/200 tokens 51200 loss 3.2500 10.0 steps/s ETA 0m15s"
                + " | final_norm rank=12.50 alpha=1.234 entropy_seeking"
                + System.lineSeparator())
        .doesNotContain("\033");
  }

  @Test
  void interactiveRedrawsInPlace() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DemoConsole console =
        new DemoConsole(new PrintStream(bytes, true, StandardCharsets.UTF_8), true);
    List<DemoConsole.LayerRow> rows =
        List.of(
            new DemoConsole.LayerRow("a", 1, 2, "warmup", "-"),
            new DemoConsole.LayerRow("b", 1, 2, "warmup", "-"));
    console.update(new DemoConsole.Progress(1, 10, 1, 1, 1, Double.NaN, Double.NaN), rows);
    console.update(new DemoConsole.Progress(2, 10, 2, 1, 1, Double.NaN, Double.NaN), rows);
    // The second frame moves the cursor up over the 4 lines of the first one.
    assertThat(bytes.toString(StandardCharsets.UTF_8)).contains("\033[4F");
  }

  @Test
  void barFillsInProportionToTheSteps() {
    assertThat(DemoConsole.bar(5, 10, 10)).isEqualTo("[#####-----]");
    assertThat(DemoConsole.bar(20, 10, 4)).isEqualTo("[####]");
  }
}
