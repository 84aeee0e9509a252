package io.phasewatch.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.phasewatch.collector.metrics.TrainingPoint;
import io.phasewatch.core.wire.Stage;
import io.phasewatch.core.wire.TrainingScalars;
import io.vertx.core.json.JsonObject;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportFigureTest {

  @TempDir Path dir;

  @Test
  void figureAndSummaryAreWrittenAndCarryTheSeries() throws Exception {
    List<DemoReport.Point> points = new ArrayList<>();
    for (long step = 10; step <= 500; step += 10) {
      String phase = step < 60 ? "warmup" : "entropy_seeking";
      points.add(new DemoReport.Point(step, 2 + step / 20.0, 3 - step / 400.0, phase, "pretrain"));
    }
    DemoReport report =
        new DemoReport(
            "r1",
            "final_norm",
            List.of(new DemoReport.LayerSeries("final_norm", points)),
            List.of(
                new DemoReport.Transition(
                    "final_norm", "pretrain", "warmup", "entropy_seeking", 60)),
            List.of(new DemoReport.StageBoundary("pretrain", 0)),
            new JsonObject().put("steps", 500));

    System.setProperty("java.awt.headless", "true");
    ReportFigure.write(dir, report);

    BufferedImage png = ImageIO.read(dir.resolve("figure.png").toFile());
    assertThat(png.getWidth()).isEqualTo(1200);
    assertThat(Files.readString(dir.resolve("figure.svg")))
        .contains("<svg xmlns")
        .contains("final_norm");
    assertThat(report.headlineBands())
        .containsExactly(
            new DemoReport.PhaseBand("warmup", 10, 60),
            new DemoReport.PhaseBand("entropy_seeking", 60, 500));
    JsonObject json = new JsonObject(report.toJson().encode());
    assertThat(json.getJsonArray("layers").getJsonObject(0).getJsonArray("series")).hasSize(50);
    assertThat(json.getJsonArray("transitions").getJsonObject(0).getLong("step")).isEqualTo(60);
    assertThat(json.getJsonArray("training_scalars")).isEmpty();
  }

  @Test
  void theLossAndNamedScalarsAreDrawnAndWrittenBesideTheGeometry() throws Exception {
    List<DemoReport.Point> points = new ArrayList<>();
    List<TrainingPoint> scalars = new ArrayList<>();
    for (long step = 10; step <= 200; step += 10) {
      points.add(
          new DemoReport.Point(step, 40 - step / 10.0, 2 + step / 100.0, "steady", "pretrain"));
      scalars.add(
          new TrainingPoint(
              step,
              step,
              Stage.PRETRAIN,
              1,
              new TrainingScalars(
                  Map.of(
                      "loss", new TrainingScalars.Scalar(10, 4 - step / 100.0),
                      "learning_rate", new TrainingScalars.Scalar(1, 1e-3),
                      "heldout.accuracy", new TrainingScalars.Scalar(1, step / 200.0)))));
    }
    DemoReport report =
        new DemoReport(
            "r2",
            "final_norm",
            List.of(new DemoReport.LayerSeries("final_norm", points)),
            List.of(),
            List.of(new DemoReport.StageBoundary("pretrain", 10)),
            new JsonObject(),
            scalars);

    System.setProperty("java.awt.headless", "true");
    ReportFigure.write(dir, report);

    assertThat(Files.readString(dir.resolve("figure.svg"))).contains("<svg xmlns");
    var combined = (CombinedDomainXYPlot) ReportFigure.chart(report).getXYPlot();
    assertThat(combined.getSubplots())
        .extracting(plot -> plot.getRangeAxis().getLabel())
        .containsExactly(
            "effective rank (RankMe)",
            "α (power-law decay)",
            "training loss: loss",
            "named scalars: heldout.accuracy");
    XYPlot lossPlot = combined.getSubplots().get(2);
    assertThat(lossPlot.getDataset().getItemCount(0)).isEqualTo(20);
    assertThat(lossPlot.getDataset().getYValue(0, 19)).isEqualTo(2.0);
    JsonObject last =
        new JsonObject(report.toJson().encode()).getJsonArray("training_scalars").getJsonObject(19);
    assertThat(last.getLong("step")).isEqualTo(200);
    assertThat(last.getDouble("loss")).isEqualTo(2.0);
    assertThat(last.getDouble("heldout.accuracy")).isEqualTo(1.0);
    assertThat(last.getDouble("learning_rate")).isEqualTo(1e-3);
  }
}
