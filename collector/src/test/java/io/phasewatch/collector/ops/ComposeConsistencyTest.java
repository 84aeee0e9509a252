package io.phasewatch.collector.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * deploy/compose.yaml cannot run here (no container engine), so its internal consistency is
 * checked: services, ports, mounted paths, the files the containers read and the addresses they
 * call.
 */
class ComposeConsistencyTest {

  private final Path deploy = Repo.file("deploy");
  private final Map<?, ?> services =
      Repo.child(Repo.map(Repo.yaml(Repo.file("deploy/compose.yaml")), "compose"), "services");

  @Test
  void theStackHasEveryServiceAndDependsOnlyOnServicesItDefines() {
    assertThat(services.keySet())
        .extracting(Repo::str)
        .contains("kafka", "collector", "prometheus", "alertmanager", "grafana");
    services.forEach(
        (name, s) -> {
          Object deps = Repo.map(s, Repo.str(name)).get("depends_on");
          Iterable<?> names =
              deps instanceof Map<?, ?> m ? m.keySet() : Repo.list(deps, "depends_on");
          for (Object dep : names) {
            assertThat(services.containsKey(dep)).as("%s depends on %s", name, dep).isTrue();
          }
        });
  }

  @Test
  void publishedHostPortsAreDistinct() {
    Set<String> hostPorts = new HashSet<>();
    services.forEach(
        (name, s) -> {
          for (Object p : Repo.list(Repo.map(s, Repo.str(name)).get("ports"), "ports")) {
            String host = Repo.str(p).split(":")[0];
            assertThat(hostPorts.add(host)).as("host port %s of %s is free", host, name).isTrue();
          }
        });
  }

  @Test
  void everyMountedPathAndBuildFileExistsInTheRepository() {
    int binds = 0;
    for (Map.Entry<?, ?> e : services.entrySet()) {
      Map<?, ?> s = Repo.map(e.getValue(), Repo.str(e.getKey()));
      for (Object v : Repo.list(s.get("volumes"), "volumes")) {
        String source = Repo.str(v).split(":")[0];
        if (source.startsWith(".")) {
          binds++;
          assertThat(deploy.resolve(source).normalize())
              .as("%s mounts %s", e.getKey(), source)
              .exists();
        }
      }
      Map<?, ?> build = Repo.child(s, "build");
      if (!build.isEmpty()) {
        Path context = deploy.resolve(Repo.str(build.get("context"))).normalize();
        Path dockerfile = context.resolve(Repo.str(build.get("dockerfile")));
        assertThat(dockerfile).as("%s's Dockerfile", e.getKey()).exists();
      }
    }
    assertThat(binds).isGreaterThanOrEqualTo(6);
  }

  @Test
  void prometheusScrapesTheCollectorOnThePortItListensOn() {
    Map<?, ?> collector = service("collector");
    Map<String, String> env = env(collector);
    assertThat(env).containsEntry("PHASEWATCH_HTTP_HOST", "0.0.0.0");
    String port = env.get("PHASEWATCH_HTTP_PORT");
    assertThat(port).isEqualTo("8080");
    assertThat(Repo.list(collector.get("ports"), "ports"))
        .extracting(Repo::str)
        .anyMatch(p -> p.endsWith(":" + port));

    Map<?, ?> prom = Repo.map(Repo.yaml(Repo.file("deploy/prometheus/prometheus.yml")), "prom");
    Map<String, List<String>> targets = new LinkedHashMap<>();
    for (Object sc : Repo.list(prom.get("scrape_configs"), "scrape_configs")) {
      Map<?, ?> job = Repo.map(sc, "scrape_config");
      for (Object st : Repo.list(job.get("static_configs"), "static_configs")) {
        targets.put(
            Repo.str(job.get("job_name")),
            Repo.list(Repo.map(st, "static_config").get("targets"), "targets").stream()
                .map(Repo::str)
                .toList());
      }
    }
    // The job name is what PhasewatchCollectorDown matches on.
    assertThat(targets).containsEntry("phasewatch-collector", List.of("collector:" + port));
    assertThat(Repo.read(Repo.file("deploy/prometheus/rules/phasewatch-alerts.yml")))
        .contains("up{job=\"phasewatch-collector\"}");
  }

  @Test
  void prometheusFindsItsRulesAndAlertmanagerInsideTheContainer() {
    Map<String, String> mounts = mounts(service("prometheus"));
    String configDir = "/etc/prometheus";
    assertThat(mounts).containsEntry(configDir + "/prometheus.yml", "./prometheus/prometheus.yml");
    Map<?, ?> prom = Repo.map(Repo.yaml(Repo.file("deploy/prometheus/prometheus.yml")), "prom");
    for (Object rf : Repo.list(prom.get("rule_files"), "rule_files")) {
      // Relative rule files resolve against the config file's directory, in the repo and in the
      // container.
      String relative = Repo.str(rf);
      assertThat(Repo.file("deploy/prometheus/" + relative)).exists();
      String inContainer = configDir + "/" + relative;
      assertThat(mounts.keySet())
          .as("a mount holds %s", inContainer)
          .anyMatch(inContainer::startsWith);
    }
    String alertmanagerTarget =
        Repo.str(
            Repo.list(
                    Repo.map(
                            Repo.list(
                                    Repo.map(
                                            Repo.list(
                                                    Repo.child(prom, "alerting")
                                                        .get("alertmanagers"),
                                                    "alertmanagers")
                                                .get(0),
                                            "am")
                                        .get("static_configs"),
                                    "static_configs")
                                .get(0),
                            "sc")
                        .get("targets"),
                    "targets")
                .get(0));
    assertThat(alertmanagerTarget).startsWith("alertmanager:");
    String amPort = alertmanagerTarget.split(":")[1];
    Map<?, ?> am = service("alertmanager");
    assertThat(Repo.list(am.get("ports"), "ports"))
        .extracting(Repo::str)
        .anyMatch(p -> p.endsWith(":" + amPort));
    assertThat(mounts(am))
        .containsEntry("/etc/alertmanager/alertmanager.yml", "./alertmanager/alertmanager.yml");
    assertThat(Repo.list(am.get("command"), "command"))
        .extracting(Repo::str)
        .contains("--config.file=/etc/alertmanager/alertmanager.yml");
  }

  @Test
  void grafanaLoadsTheDashboardsFromWhereTheyAreMountedAndReachesPrometheus() {
    Map<String, String> mounts = mounts(service("grafana"));
    Map<?, ?> provider =
        Repo.map(
            Repo.list(
                    Repo.map(
                            Repo.yaml(Repo.file("grafana/provisioning/dashboards/phasewatch.yaml")),
                            "providers")
                        .get("providers"),
                    "providers")
                .get(0),
            "provider");
    String path = Repo.str(Repo.child(provider, "options").get("path"));
    assertThat(mounts).containsEntry(path, "../grafana/dashboards");
    assertThat(mounts)
        .containsEntry(
            "/etc/grafana/provisioning/datasources", "../grafana/provisioning/datasources")
        .containsEntry(
            "/etc/grafana/provisioning/dashboards", "../grafana/provisioning/dashboards");

    Map<?, ?> ds =
        Repo.map(
            Repo.list(
                    Repo.map(
                            Repo.yaml(
                                Repo.file(
                                    "grafana/provisioning/datasources/phasewatch-prometheus.yaml")),
                            "ds")
                        .get("datasources"),
                    "datasources")
                .get(0),
            "datasource");
    Matcher url = Pattern.compile("http://([a-z-]+):(\\d+)").matcher(Repo.str(ds.get("url")));
    assertThat(url.matches()).isTrue();
    assertThat(services.containsKey(url.group(1))).as("datasource host is a service").isTrue();
    assertThat(Repo.list(service(url.group(1)).get("ports"), "ports"))
        .extracting(Repo::str)
        .anyMatch(p -> p.endsWith(":" + url.group(2)));
  }

  @Test
  void collectorAndTopicSetupAgreeOnKafkaAddressAndTopic() {
    // The topic the agents publish to by default (docs/configuration.md) is the one created here.
    Matcher topic =
        Pattern.compile("\\| `publish\\.topic` \\| `([^`]+)` \\|")
            .matcher(Repo.read(Repo.file("docs/configuration.md")));
    assertThat(topic.find()).as("publish.topic in docs/configuration.md").isTrue();
    Map<String, String> env = env(service("collector"));
    String bootstrap = env.get("PHASEWATCH_KAFKA_BOOTSTRAP_SERVERS");
    assertThat(Repo.list(service("kafka-init").get("command"), "command"))
        .extracting(Repo::str)
        .containsSubsequence("--bootstrap-server", bootstrap)
        .containsSubsequence("--topic", topic.group(1));
    Map<String, String> kafka = env(service("kafka"));
    assertThat(kafka.get("KAFKA_ADVERTISED_LISTENERS")).contains("PLAINTEXT://" + bootstrap);
  }

  /** The image copies what the collector module's build writes: its jar and the lib/ beside it. */
  @Test
  void collectorImageCopiesTheJarAndLibrariesTheBuildProduces() {
    String pom = Repo.read(Repo.file("collector/pom.xml"));
    Matcher finalName = Pattern.compile("<finalName>([^<]+)</finalName>").matcher(pom);
    assertThat(finalName.find()).isTrue();
    assertThat(pom).contains("<classpathPrefix>lib/</classpathPrefix>");
    String dockerfile = Repo.read(Repo.file("deploy/collector/Dockerfile"));
    assertThat(dockerfile)
        .contains("COPY collector/target/" + finalName.group(1) + ".jar ")
        .contains("COPY collector/target/lib/ lib/");
    Map<?, ?> build = Repo.child(service("collector"), "build");
    assertThat(
            Files.isRegularFile(
                deploy
                    .resolve(Repo.str(build.get("context")))
                    .resolve(Repo.str(build.get("dockerfile")))))
        .isTrue();
  }

  private Map<?, ?> service(String name) {
    return Repo.map(services.get(name), name);
  }

  private static Map<String, String> env(Map<?, ?> service) {
    Map<String, String> env = new HashMap<>();
    Repo.child(service, "environment").forEach((k, v) -> env.put(Repo.str(k), Repo.str(v)));
    return env;
  }

  /** Container path → host path of each bind mount. */
  private static Map<String, String> mounts(Map<?, ?> service) {
    Map<String, String> mounts = new LinkedHashMap<>();
    for (Object v : Repo.list(service.get("volumes"), "volumes")) {
      String[] parts = Repo.str(v).split(":");
      if (parts[0].startsWith(".")) {
        mounts.put(parts[1], parts[0]);
      }
    }
    return mounts;
  }
}
