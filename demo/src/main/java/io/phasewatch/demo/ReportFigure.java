package io.phasewatch.demo;

import io.phasewatch.collector.metrics.TrainingPoint;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogarithmicAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.IntervalMarker;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.ui.Layer;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.jfree.svg.SVGGraphics2D;

/**
 * The study's picture for one run: effective rank and α against the training step (log axis), one
 * line per layer, the phases of the headline layer as shaded bands, transitions and stage
 * boundaries as vertical markers. Drawn once into PNG and SVG.
 */
final class ReportFigure {

  static final Map<String, Color> PHASE_COLORS =
      Map.of(
          "warmup", new Color(0xF2, 0xC1, 0x4E, 70),
          "entropy_seeking", new Color(0x5B, 0x9B, 0xD5, 60),
          "compression_seeking", new Color(0xE0, 0x5A, 0x47, 70),
          "steady", new Color(0xA0, 0xA0, 0xA0, 40));

  private static final int WIDTH = 1200;
  private static final int HEIGHT = 800;

  private ReportFigure() {}

  /** Writes {@code figure.png} and {@code figure.svg} into {@code dir}. */
  static void write(Path dir, DemoReport report) throws IOException {
    JFreeChart chart = chart(report);
    BufferedImage image = chart.createBufferedImage(WIDTH, HEIGHT);
    ImageIO.write(image, "png", dir.resolve("figure.png").toFile());
    SVGGraphics2D svg = new SVGGraphics2D(WIDTH, HEIGHT);
    chart.draw(svg, new Rectangle2D.Double(0, 0, WIDTH, HEIGHT));
    Files.writeString(dir.resolve("figure.svg"), svg.getSVGDocument(), StandardCharsets.UTF_8);
  }

  static JFreeChart chart(DemoReport report) {
    XYSeriesCollection rank = new XYSeriesCollection();
    XYSeriesCollection alpha = new XYSeriesCollection();
    for (DemoReport.LayerSeries layer : report.layers()) {
      XYSeries r = new XYSeries(layer.layer(), false, true);
      XYSeries a = new XYSeries(layer.layer(), false, true);
      for (DemoReport.Point p : layer.points()) {
        // A log step axis cannot show step 0; the study plots from the first step on as well.
        long x = Math.max(1, p.step());
        if (Double.isFinite(p.effectiveRank())) {
          r.addOrUpdate(x, p.effectiveRank());
        }
        if (Double.isFinite(p.alpha())) {
          a.addOrUpdate(x, p.alpha());
        }
      }
      rank.addSeries(r);
      alpha.addSeries(a);
    }
    LogarithmicAxis stepAxis = new LogarithmicAxis("training step");
    stepAxis.setAllowNegativesFlag(false);
    stepAxis.setStrictValuesFlag(false);
    CombinedDomainXYPlot combined = new CombinedDomainXYPlot(stepAxis);
    XYPlot rankPlot = subplot(rank, "effective rank (RankMe)", true);
    XYPlot alphaPlot = subplot(alpha, "α (power-law decay)", false);
    combined.add(rankPlot, 1);
    combined.add(alphaPlot, 1);
    List<XYPlot> plots = new java.util.ArrayList<>(List.of(rankPlot, alphaPlot));
    // The study's picture: the loss falls smoothly while the geometry goes through its phases; the
    // scalars the run names (held-out accuracy) show what each phase came with.
    XYSeriesCollection losses = scalarSeries(report, true);
    XYSeriesCollection named = scalarSeries(report, false);
    for (var group :
        List.of(Map.entry("training loss", losses), Map.entry("named scalars", named))) {
      if (group.getValue().getSeriesCount() > 0) {
        XYPlot plot = subplot(group.getValue(), group.getKey(), false);
        for (int i = 0; i < group.getValue().getSeriesCount(); i++) {
          // Colours of their own, named in the axis label: the legend names the layers.
          plot.getRenderer().setSeriesPaint(i, SCALAR_COLORS[i % SCALAR_COLORS.length]);
        }
        plot.getRangeAxis()
            .setLabel(group.getKey() + ": " + String.join(", ", seriesNames(group.getValue())));
        combined.add(plot, 1);
        plots.add(plot);
      }
    }
    for (XYPlot plot : plots) {
      addPhaseBands(plot, report);
      addMarkers(plot, report, plot == rankPlot);
    }
    JFreeChart chart =
        new JFreeChart(
            "phasewatch — run "
                + report.run()
                + " (bands: phases of "
                + report.headlineLayer()
                + ")",
            new Font("SansSerif", Font.BOLD, 16),
            combined,
            true);
    chart.setBackgroundPaint(Color.WHITE);
    return chart;
  }

  /** One colour per layer in both subplots, so the legend (shown once) names both lines. */
  private static final Color[] LAYER_COLORS = {
    new Color(0xD6, 0x27, 0x28),
    new Color(0x1F, 0x77, 0xB4),
    new Color(0x2C, 0xA0, 0x2C),
    new Color(0x94, 0x67, 0xBD),
    new Color(0xFF, 0x7F, 0x0E),
    new Color(0x8C, 0x56, 0x4B),
  };

  private static final Color[] SCALAR_COLORS = {
    Color.BLACK,
    new Color(0x7F, 0x7F, 0x7F),
    new Color(0x17, 0xBE, 0xCF),
    new Color(0xBC, 0xBD, 0x22),
  };

  /** One series per scalar name: those naming a loss, or the others (learning rate left out). */
  private static XYSeriesCollection scalarSeries(DemoReport report, boolean losses) {
    Map<String, XYSeries> byName = new java.util.TreeMap<>();
    for (TrainingPoint t : report.scalars()) {
      long x = Math.max(1, t.step());
      t.scalars()
          .values()
          .forEach(
              (name, v) -> {
                if (name.contains("loss") == losses && !name.equals("learning_rate")) {
                  byName
                      .computeIfAbsent(name, n -> new XYSeries(n, false, true))
                      .addOrUpdate(x, v.value());
                }
              });
    }
    XYSeriesCollection data = new XYSeriesCollection();
    byName.values().forEach(data::addSeries);
    return data;
  }

  private static List<String> seriesNames(XYSeriesCollection data) {
    List<String> names = new java.util.ArrayList<>();
    for (int i = 0; i < data.getSeriesCount(); i++) {
      names.add(String.valueOf(data.getSeriesKey(i)));
    }
    return names;
  }

  private static XYPlot subplot(XYSeriesCollection data, String label, boolean inLegend) {
    NumberAxis axis = new NumberAxis(label);
    axis.setAutoRangeIncludesZero(false);
    XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
    for (int i = 0; i < data.getSeriesCount(); i++) {
      renderer.setSeriesStroke(i, new BasicStroke(2f));
      renderer.setSeriesPaint(i, LAYER_COLORS[i % LAYER_COLORS.length]);
      renderer.setSeriesVisibleInLegend(i, inLegend);
    }
    XYPlot plot = new XYPlot(data, null, axis, renderer);
    plot.setBackgroundPaint(Color.WHITE);
    plot.setDomainGridlinePaint(new Color(0xDD, 0xDD, 0xDD));
    plot.setRangeGridlinePaint(new Color(0xDD, 0xDD, 0xDD));
    return plot;
  }

  private static void addPhaseBands(XYPlot plot, DemoReport report) {
    for (DemoReport.PhaseBand band : report.headlineBands()) {
      Color color = PHASE_COLORS.getOrDefault(band.phase(), PHASE_COLORS.get("steady"));
      IntervalMarker marker =
          new IntervalMarker(Math.max(1, band.fromStep()), Math.max(1, band.toStep()), color);
      marker.setLabel(band.phase().replace('_', ' '));
      marker.setLabelFont(new Font("SansSerif", Font.PLAIN, 11));
      marker.setLabelAnchor(RectangleAnchor.TOP_LEFT);
      marker.setLabelTextAnchor(TextAnchor.TOP_LEFT);
      plot.addDomainMarker(marker, Layer.BACKGROUND);
    }
  }

  private static void addMarkers(XYPlot plot, DemoReport report, boolean labelled) {
    for (DemoReport.Transition t : report.transitions()) {
      ValueMarker marker = new ValueMarker(Math.max(1, t.step()));
      marker.setPaint(new Color(0x55, 0x55, 0x55));
      marker.setStroke(
          new BasicStroke(
              1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {4f, 4f}, 0f));
      plot.addDomainMarker(marker, Layer.FOREGROUND);
    }
    // The first stage is where the run starts, not a boundary; the title and legend cover it.
    for (DemoReport.StageBoundary s :
        report.stages().subList(Math.min(1, report.stages().size()), report.stages().size())) {
      ValueMarker marker = new ValueMarker(Math.max(1, s.step()));
      marker.setPaint(Color.BLACK);
      marker.setStroke(new BasicStroke(2f));
      if (labelled) {
        marker.setLabel(s.stage());
        marker.setLabelAnchor(RectangleAnchor.TOP_RIGHT);
        marker.setLabelTextAnchor(TextAnchor.TOP_LEFT);
      }
      plot.addDomainMarker(marker, Layer.FOREGROUND);
    }
  }
}
