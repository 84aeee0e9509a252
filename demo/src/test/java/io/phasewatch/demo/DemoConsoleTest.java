package io.phasewatch.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Logger;
import org.jline.terminal.Size;
import org.jline.terminal.Terminal;
import org.jline.terminal.impl.ExternalTerminal;
import org.jline.utils.AttributedString;
import org.junit.jupiter.api.Test;

class DemoConsoleTest {

  @Test
  void headlessPrintsOnePlainLinePerUpdate() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DemoConsole console =
        DemoConsole.headless(new PrintStream(bytes, true, StandardCharsets.UTF_8));
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
  void everyLineOfTheLiveDisplayFitsTheTerminalWidth() {
    List<DemoConsole.LayerRow> rows =
        List.of(
            new DemoConsole.LayerRow(
                "final_norm", 70.47, 1.351, "compression_seeking", "entropy_seeking → x @ 400"),
            new DemoConsole.LayerRow("layers.0.out", 70.4, 1.35, "entropy_seeking", "-"));
    DemoConsole.Progress p = new DemoConsole.Progress(400, 1500, 614_400, 0.0054, 6.2, 1.0, 0.501);
    for (int width : new int[] {40, 80, 200}) {
      List<AttributedString> frame = DemoConsole.frame(p, rows, width);
      assertThat(frame).hasSize(2 + rows.size());
      assertThat(frame)
          .allSatisfy(line -> assertThat(line.columnLength()).isLessThanOrEqualTo(width));
    }
    // Wide enough, nothing is cut: the progress line carries the accuracies and the rows the phase.
    List<AttributedString> wide = DemoConsole.frame(p, rows, 200);
    assertThat(wide.get(0).toString())
        .startsWith("[")
        .contains("step 400/1500")
        .contains("acc train 1.000 held-out 0.501");
    assertThat(wide.get(2).toString()).contains("final_norm").contains("compression_seeking");
  }

  @Test
  void interactiveDisplayKeepsLogRecordsAboveItAndHandsLoggingBack() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Logger root = Logger.getLogger("");
    List<Handler> before = List.of(root.getHandlers());
    // An xterm writing into memory, synchronously (TerminalBuilder may pick a pty with an output
    // pump thread instead, depending on the classpath).
    try (Terminal terminal =
        new ExternalTerminal(
            "test",
            "xterm-256color",
            new ByteArrayInputStream(new byte[0]),
            bytes,
            StandardCharsets.UTF_8)) {
      terminal.setSize(Size.of(80, 24));
      DemoConsole console = DemoConsole.interactive(terminal);
      List<DemoConsole.LayerRow> rows =
          List.of(new DemoConsole.LayerRow("final_norm", 12.5, 1.234, "entropy_seeking", "-"));
      console.update(new DemoConsole.Progress(1, 10, 1, 1, 1, Double.NaN, Double.NaN), rows);
      root.log(java.util.logging.Level.WARNING, "a record while the display is up");
      console.update(new DemoConsole.Progress(2, 10, 2, 1, 1, Double.NaN, Double.NaN), rows);
      console.close();
      terminal.flush();
    }
    String out = bytes.toString(StandardCharsets.UTF_8);
    // The display draws its first frame whole (later frames only the cells that changed), and the
    // record scrolls above it.
    assertThat(out)
        .contains("step 1/10")
        .contains("final_norm")
        .contains("WARNING: a record while the display is up");
    // The record went through the display, not past it on stderr: the handler set is restored.
    assertThat(List.of(root.getHandlers())).containsExactlyInAnyOrderElementsOf(before);
  }

  @Test
  void barFillsInProportionToTheSteps() {
    assertThat(DemoConsole.bar(5, 10, 10)).isEqualTo("[#####-----]");
    assertThat(DemoConsole.bar(20, 10, 4)).isEqualTo("[####]");
  }
}
