package io.phasewatch.collector.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every dashboard type-checks against Grafana's published dashboard model: the JSON is wrapped as
 * {@code export const d = <json> satisfies PhasewatchDashboard;} and compiled by {@code tsc
 * --strict} against {@code @grafana/schema}, pinned in grafana/schema-check/package-lock.json.
 */
class GrafanaDashboardSchemaIT {

  private static Path checkProject;

  @BeforeAll
  static void installPinnedSchema() {
    Tool.require("node", "sudo apt-get install -y nodejs npm");
    Path npm = Tool.require("npm", "sudo apt-get install -y nodejs npm");
    checkProject = Repo.file("grafana/schema-check");
    if (!Files.isDirectory(checkProject.resolve("node_modules/@grafana/schema"))
        || !Files.isDirectory(checkProject.resolve("node_modules/typescript"))) {
      Tool.Result r =
          Tool.run(
              checkProject,
              600,
              List.of(npm.toString(), "ci", "--no-audit", "--no-fund", "--loglevel=error"));
      assertThat(r.exitCode()).as("npm ci in grafana/schema-check: %s", r.output()).isZero();
    }
  }

  @Test
  void everyDashboardSatisfiesGrafanasDashboardModel() throws IOException {
    List<Path> dashboards = dashboards();
    assertThat(dashboards)
        .extracting(p -> p.getFileName().toString())
        .contains("phasewatch-overview.json", "phasewatch-run.json");
    Path out = Repo.root().resolve("collector/target/grafana-schema-check");
    Tool.Result r = typeCheck(out, dashboards);
    assertThat(r.exitCode()).as(r.output()).isZero();
  }

  /** The check has teeth: a misspelt panel type and a misspelt option are compile errors. */
  @Test
  void aDashboardWithAnUnknownPanelTypeOrOptionFailsTheCheck(@TempDir Path dir) throws IOException {
    String run = Repo.read(Repo.file("grafana/dashboards/phasewatch-run.json"));
    Path badType = dir.resolve("bad-type.json");
    Files.writeString(
        badType,
        run.replaceFirst("\"type\": \"timeseries\"", "\"type\": \"timeserie\""),
        StandardCharsets.UTF_8);
    Path badOption = dir.resolve("bad-option.json");
    Files.writeString(
        badOption,
        run.replaceFirst("\"showHeader\": true", "\"showHedaer\": true"),
        StandardCharsets.UTF_8);

    Tool.Result type = typeCheck(dir.resolve("out-type"), List.of(badType));
    Tool.Result option = typeCheck(dir.resolve("out-option"), List.of(badOption));

    assertThat(type.exitCode()).as(type.output()).isNotZero();
    assertThat(type.output()).contains("bad-type.ts").contains("timeserie");
    assertThat(option.exitCode()).as(option.output()).isNotZero();
    assertThat(option.output()).contains("showHedaer");
  }

  private static List<Path> dashboards() throws IOException {
    try (Stream<Path> files = Files.list(Repo.file("grafana/dashboards"))) {
      return files.filter(p -> p.toString().endsWith(".json")).sorted().toList();
    }
  }

  /** Writes one .ts wrapper per dashboard and a tsconfig extending the pinned project's. */
  private static Tool.Result typeCheck(Path out, List<Path> dashboards) throws IOException {
    Files.createDirectories(out);
    Path types = checkProject.resolve("phasewatch-dashboard").toAbsolutePath();
    List<String> files = new ArrayList<>();
    for (Path json : dashboards) {
      String name = json.getFileName().toString().replaceFirst("\\.json$", ".ts");
      // No newline before `satisfies`: automatic semicolon insertion would end the statement.
      String ts =
          "import type { PhasewatchDashboard } from '"
              + types
              + "';\nexport const d = "
              + Repo.read(json).strip()
              + " satisfies PhasewatchDashboard;\n";
      Files.writeString(out.resolve(name), ts, StandardCharsets.UTF_8);
      files.add("\"" + name + "\"");
    }
    Files.writeString(
        out.resolve("tsconfig.json"),
        "{\"extends\": \""
            + checkProject.resolve("tsconfig.json").toAbsolutePath()
            + "\", \"compilerOptions\": {\"strict\": true, \"noEmit\": true}, \"files\": ["
            + String.join(", ", files)
            + "]}\n",
        StandardCharsets.UTF_8);
    Path npx = Tool.require("npx", "sudo apt-get install -y nodejs npm");
    return Tool.run(
        checkProject,
        300,
        List.of(
            npx.toString(),
            "--no-install",
            "tsc",
            "--noEmit",
            "--strict",
            "-p",
            out.resolve("tsconfig.json").toString()));
  }
}
