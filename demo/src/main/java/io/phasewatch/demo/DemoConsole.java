package io.phasewatch.demo;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import org.jline.terminal.Terminal;
import org.jline.utils.AttributedString;
import org.jline.utils.Status;

/**
 * What the demo shows in the terminal. Interactive: a status area at the bottom of the terminal
 * (jline's {@link Status}, which knows the terminal's width and keeps a scroll region above it)
 * with a progress bar and one row per tapped layer, each cut to the width; log records and the
 * demo's own messages scroll above it. Headless: one plain line per update.
 */
final class DemoConsole implements AutoCloseable {

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
  private final Terminal terminal;
  private final Status status;
  private final Logger root = Logger.getLogger("");
  private final List<Handler> displaced = new ArrayList<>();
  private final Handler routed;

  private DemoConsole(PrintStream out, Terminal terminal) {
    this.out = out;
    this.terminal = terminal;
    this.status = terminal == null ? null : Status.getStatus(terminal);
    if (terminal == null) {
      routed = null;
      return;
    }
    // JUL's console handler writes to stderr straight through the status area; while the display
    // is up, records go through log() instead, above it.
    for (Handler h : root.getHandlers()) {
      if (h instanceof java.util.logging.ConsoleHandler) {
        displaced.add(h);
        root.removeHandler(h);
      }
    }
    Formatter format = new SimpleFormatter();
    routed =
        new Handler() {
          @Override
          public void publish(LogRecord r) {
            if (isLoggable(r)) {
              log(format.format(r).stripTrailing());
            }
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    routed.setLevel(java.util.logging.Level.INFO);
    root.addHandler(routed);
  }

  /** One plain line per update on {@code out}. */
  static DemoConsole headless(PrintStream out) {
    return new DemoConsole(out, null);
  }

  /** A live display at the bottom of {@code terminal}, until {@link #close}. */
  static DemoConsole interactive(Terminal terminal) {
    return new DemoConsole(null, terminal);
  }

  synchronized void update(Progress progress, List<LayerRow> layers) {
    if (terminal == null) {
      out.println(logLine(progress, layers));
      out.flush();
      return;
    }
    status.update(frame(progress, layers, Math.max(20, terminal.getColumns())));
  }

  /** A message that scrolls above the live display (or a plain line, headless). */
  synchronized void log(String line) {
    if (terminal == null) {
      out.println(line);
      out.flush();
      return;
    }
    terminal.writer().println(line);
    terminal.flush();
  }

  /**
   * Leaves the last frame on screen: the status area is released as plain lines, so later output
   * scrolls below it, and logging goes back to JUL's console handler.
   */
  @Override
  public synchronized void close() {
    if (terminal == null) {
      return;
    }
    root.removeHandler(routed);
    displaced.forEach(root::addHandler);
    displaced.clear();
    status.close();
    terminal.flush();
  }

  /** The status lines for a terminal {@code width} columns wide, none longer than it. */
  static List<AttributedString> frame(Progress p, List<LayerRow> layers, int width) {
    String text = progressText(p);
    int barWidth = Math.max(10, Math.min(40, width - text.length() - 3));
    List<String> lines = new ArrayList<>();
    lines.add(bar(p.step(), p.totalSteps(), barWidth) + " " + text);
    lines.add(
        String.format(
            Locale.ROOT,
            "%-14s %9s %7s  %-19s %s",
            "layer",
            "RankMe",
            "α",
            "phase",
            "last transition"));
    for (LayerRow l : layers) {
      lines.add(
          String.format(
              Locale.ROOT,
              "%-14s %9s %7s  %-19s %s",
              l.layer(),
              number(l.effectiveRank(), 2),
              number(l.alpha(), 3),
              l.phase(),
              l.lastTransition()));
    }
    List<AttributedString> out = new ArrayList<>();
    for (String line : lines) {
      AttributedString a = new AttributedString(line);
      out.add(a.columnLength() > width ? a.columnSubSequence(0, width) : a);
    }
    return out;
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

  private static String number(double v, int digits) {
    return Double.isFinite(v) ? String.format(Locale.ROOT, "%." + digits + "f", v) : "–";
  }
}
