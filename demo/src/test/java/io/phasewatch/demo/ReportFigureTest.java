package io.phasewatch.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
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
  }
}
