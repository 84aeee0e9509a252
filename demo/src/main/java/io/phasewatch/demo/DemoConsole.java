package io.phasewatch.demo;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;

/**
 * What the demo shows in the terminal: a progress bar and a live table per tapped layer, redrawn in
 * place with ANSI escapes; or, headless, one plain log line per update.
 */
final class DemoConsole {

  /** Accuracies are NaN where the workload has none (the language model). */
  record Progress(
      long step,
      long totalSteps,
      long tokens,
      double loss,
      double stepsPerSecond,
      double trainAccuracy,
      double heldOutAccuracy) {}

  record LayerRow(
      String layer, double effectiveRank, double alpha, String phase, String lastTransition) {}

  private final PrintStream out;
  private final boolean interactive;
  private int linesDrawn;

  DemoConsole(PrintStream out, boolean interactive) {
    this.out = out;
    this.interactive = interactive;
  }

  void update(Progress progress, List<LayerRow> layers) {
    if (interactive) {
      redraw(progress, layers);
    } else {
      out.println(logLine(progress, layers));
    }
    out.flush();
  }

  /** Leaves the last frame on screen and moves below it. */
  void finish() {
    linesDrawn = 0;
  }

  static String logLine(Progress p, List<LayerRow> layers) {
    return progressText(p) + layersText(layers);
  }

  static String layersText(List<LayerRow> layers) {
    StringBuilder line = new StringBuilder();
    for (LayerRow l : layers) {
      line.append(
          String.format(
              Locale.ROOT,
              " | %s rank=%s alpha=%s %s",
              l.layer(),
              number(l.effectiveRank(), 2),
              number(l.alpha(), 3),
              l.phase()));
    }
    return line.toString();
  }

  static String progressText(Progress p) {
    double eta =
        p.stepsPerSecond() > 0 ? (p.totalSteps() - p.step()) / p.stepsPerSecond() : Double.NaN;
    String accuracy =
        Double.isFinite(p.trainAccuracy())
            ? String.format(
                Locale.ROOT,
                " acc train %.3f held-out %.3f",
                p.trainAccuracy(),
                p.heldOutAccuracy())
            : "";
    return String.format(
        Locale.ROOT,
        "step %d/%d tokens %d loss %.4f%s %.1f steps/s ETA %s",
        p.step(),
        p.totalSteps(),
        p.tokens(),
        p.loss(),
        accuracy,
        p.stepsPerSecond(),
        Double.isFinite(eta)
            ? String.format(Locale.ROOT, "%dm%02ds", (long) eta / 60, (long) eta % 60)
            : "–");
  }

  static String bar(long step, long total, int width) {
    int filled = total > 0 ? (int) Math.min(width, width * step / total) : 0;
    return "[" + "#".repeat(filled) + "-".repeat(width - filled) + "]";
  }

  private void redraw(Progress p, List<LayerRow> layers) {
    StringBuilder frame = new StringBuilder();
    if (linesDrawn > 0) {
      frame.append("\033[").append(linesDrawn).append('F');
    }
    frame
        .append("\033[2K")
        .append(bar(p.step(), p.totalSteps(), 30))
        .append(' ')
        .append(progressText(p))
        .append('\n');
    frame
        .append("\033[2K")
        .append(
            String.format(
                Locale.ROOT,
                "%-16s %14s %8s  %-20s %s",
                "layer",
                "effective rank",
                "α",
                "phase",
                "last transition"))
        .append('\n');
    for (LayerRow l : layers) {
      frame
          .append("\033[2K")
          .append(
              String.format(
                  Locale.ROOT,
                  "%-16s %14s %8s  %-20s %s",
                  l.layer(),
                  number(l.effectiveRank(), 2),
                  number(l.alpha(), 3),
                  l.phase(),
                  l.lastTransition()))
          .append('\n');
    }
    out.print(frame);
    linesDrawn = 2 + layers.size();
  }

  private static String number(double v, int digits) {
    return Double.isFinite(v) ? String.format(Locale.ROOT, "%." + digits + "f", v) : "–";
  }
}
