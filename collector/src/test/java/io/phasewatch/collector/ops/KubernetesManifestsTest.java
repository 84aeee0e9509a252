package io.phasewatch.collector.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The Kubernetes manifests parse and their references hold: volumes, named ports, selectors, scrape
 * annotations, the spool shared between trainer and agent, the -javaagent path.
 */
class KubernetesManifestsTest {

  private final List<Map<?, ?>> objects = load();

  @Test
  void everyManifestHasKindNameAndApiVersion() {
    assertThat(objects).isNotEmpty();
    for (Map<?, ?> o : objects) {
      assertThat(o.get("apiVersion")).as(o.toString()).isNotNull();
      assertThat(Repo.child(o, "metadata").get("name")).as(o.toString()).isNotNull();
    }
    assertThat(objects)
        .extracting(o -> Repo.str(o.get("kind")))
        .contains("Deployment", "Service", "ServiceMonitor", "Job");
  }

  @Test
  void everyVolumeMountNamesAVolumeOfItsPodAndEveryVolumeIsMounted() {
    for (Map<?, ?> o : objects) {
      Map<?, ?> pod = podSpec(o);
      if (pod.isEmpty()) {
        continue;
      }
      Set<String> volumes = new HashSet<>();
      for (Object v : Repo.list(pod.get("volumes"), "volumes")) {
        volumes.add(Repo.str(Repo.map(v, "volume").get("name")));
      }
      Set<String> mounted = new HashSet<>();
      for (Map<?, ?> c : containers(pod)) {
        for (Object m : Repo.list(c.get("volumeMounts"), "volumeMounts")) {
          String name = Repo.str(Repo.map(m, "volumeMount").get("name"));
          assertThat(volumes).as("%s/%s mounts %s", name(o), c.get("name"), name).contains(name);
          mounted.add(name);
        }
      }
      assertThat(mounted).as("volumes of %s", name(o)).containsExactlyInAnyOrderElementsOf(volumes);
    }
  }

  @Test
  void collectorServiceProbesAndScrapeAnnotationsUseTheContainersPort() {
    Map<?, ?> deployment = object("Deployment", "phasewatch-collector");
    Map<?, ?> template = Repo.child(Repo.child(deployment, "spec"), "template");
    Map<?, ?> pod = Repo.child(template, "spec");
    Map<?, ?> container = containers(pod).get(0);
    Map<String, Integer> ports = new HashMap<>();
    for (Object p : Repo.list(container.get("ports"), "ports")) {
      Map<?, ?> port = Repo.map(p, "port");
      ports.put(Repo.str(port.get("name")), ((Number) port.get("containerPort")).intValue());
    }
    assertThat(ports).containsEntry("http", 8080);
    Map<String, String> env = env(container);
    assertThat(env)
        .containsEntry("PHASEWATCH_HTTP_HOST", "0.0.0.0")
        .containsEntry("PHASEWATCH_HTTP_PORT", "8080")
        .containsKey("PHASEWATCH_KAFKA_BOOTSTRAP_SERVERS");
    for (String probe : List.of("readinessProbe", "livenessProbe")) {
      Object port = Repo.child(Repo.child(container, probe), "httpGet").get("port");
      assertThat(ports).as(probe).containsKey(Repo.str(port));
    }

    Map<?, ?> annotations = Repo.child(Repo.child(template, "metadata"), "annotations");
    assertThat(annotations.get("prometheus.io/scrape")).isEqualTo("true");
    assertThat(annotations.get("prometheus.io/port")).isEqualTo(String.valueOf(ports.get("http")));

    Map<?, ?> labels = Repo.child(Repo.child(template, "metadata"), "labels");
    Map<?, ?> selector =
        Repo.child(Repo.child(Repo.child(deployment, "spec"), "selector"), "matchLabels");
    assertThat(strings(labels)).containsAllEntriesOf(strings(selector));

    Map<?, ?> service = object("Service", "phasewatch-collector");
    Map<?, ?> spec = Repo.child(service, "spec");
    assertThat(strings(labels)).containsAllEntriesOf(strings(Repo.child(spec, "selector")));
    Map<?, ?> servicePort = Repo.map(Repo.list(spec.get("ports"), "ports").get(0), "port");
    assertThat(ports).containsKey(Repo.str(servicePort.get("targetPort")));

    Map<?, ?> monitor = object("ServiceMonitor", "phasewatch-collector");
    Map<?, ?> monitorSpec = Repo.child(monitor, "spec");
    Map<?, ?> serviceLabels = Repo.child(Repo.child(service, "metadata"), "labels");
    assertThat(strings(serviceLabels))
        .containsAllEntriesOf(
            strings(Repo.child(Repo.child(monitorSpec, "selector"), "matchLabels")));
    Map<?, ?> endpoint =
        Repo.map(Repo.list(monitorSpec.get("endpoints"), "endpoints").get(0), "ep");
    assertThat(endpoint.get("port")).isEqualTo(servicePort.get("name"));
    assertThat(endpoint.get("path")).isEqualTo(annotations.get("prometheus.io/path"));
    // jobLabel names the Service label whose value becomes job: the one the alerts match on.
    assertThat(serviceLabels.get(Repo.str(monitorSpec.get("jobLabel"))))
        .isEqualTo("phasewatch-collector");
  }

  @Test
  void theSidecarAgentWatchesTheSpoolTheTrainerWritesTo() {
    Map<?, ?> pod = podSpec(object("Job", "train-exp7"));
    Map<?, ?> agent = container(pod, "phasewatch-agent");
    Map<?, ?> trainer = container(pod, "trainer");
    // A native sidecar: an init container that keeps running beside the trainer.
    assertThat(agent.get("restartPolicy")).isEqualTo("Always");
    List<String> command =
        Repo.list(agent.get("command"), "command").stream().map(Repo::str).toList();
    assertThat(command)
        .containsSubsequence("-jar", "/opt/phasewatch/phasewatch-agent.jar", "watch", "--spool");
    String spool = command.get(command.indexOf("--spool") + 1);
    String volume = mountedAt(agent, spool);
    assertThat(volume).as("agent mounts %s", spool).isNotNull();
    String trainerPath = env(trainer).get("PHASEWATCH_SPOOL");
    assertThat(mountedAt(trainer, trainerPath))
        .as("trainer writes to the same volume")
        .isEqualTo(volume);
    Map<?, ?> emptyDir = Repo.child(volumeOf(pod, volume), "emptyDir");
    assertThat(emptyDir.get("sizeLimit")).as("the spool volume is bounded").isNotNull();
  }

  @Test
  void theJavaAgentPathLiesInTheVolumeTheInitContainerFills() {
    Map<?, ?> pod = podSpec(object("Job", "train-djl-exp8"));
    Map<?, ?> trainer = container(pod, "trainer");
    String options = env(trainer).get("JAVA_TOOL_OPTIONS");
    assertThat(options).startsWith("-javaagent:");
    String jar = options.substring("-javaagent:".length()).split("[ =]")[0];
    String volume = mountedAt(trainer, jar);
    assertThat(volume).as("trainer mounts %s", jar).isNotNull();
    Map<?, ?> init = container(pod, "phasewatch-agent-jar");
    List<String> copy = Repo.list(init.get("command"), "command").stream().map(Repo::str).toList();
    assertThat(copy.get(0)).isEqualTo("cp");
    String target = copy.get(copy.size() - 1);
    assertThat(mountedAt(init, target)).isEqualTo(volume);
    // The same path relative to the mount on both sides.
    assertThat(relativeToMount(init, target)).isEqualTo(relativeToMount(trainer, jar));
    assertThat(env(trainer)).containsKeys("PHASEWATCH_RUN", "PHASEWATCH_KAFKA_BOOTSTRAP_SERVERS");
  }

  private static List<Map<?, ?>> load() {
    List<Map<?, ?>> out = new ArrayList<>();
    try (Stream<Path> files = Files.list(Repo.file("deploy/k8s"))) {
      for (Path p : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
        for (Object doc : Repo.yamlDocuments(p)) {
          out.add(Repo.map(doc, p.toString()));
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return out;
  }

  private Map<?, ?> object(String kind, String name) {
    return objects.stream()
        .filter(o -> kind.equals(o.get("kind")) && name.equals(name(o)))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no " + kind + " " + name + " in deploy/k8s"));
  }

  private static String name(Map<?, ?> o) {
    return Repo.str(Repo.child(o, "metadata").get("name"));
  }

  private static Map<?, ?> podSpec(Map<?, ?> o) {
    return Repo.child(Repo.child(Repo.child(o, "spec"), "template"), "spec");
  }

  private static List<Map<?, ?>> containers(Map<?, ?> pod) {
    List<Map<?, ?>> out = new ArrayList<>();
    for (String key : List.of("initContainers", "containers")) {
      for (Object c : Repo.list(pod.get(key), key)) {
        out.add(Repo.map(c, key));
      }
    }
    return out;
  }

  private static Map<?, ?> container(Map<?, ?> pod, String name) {
    return containers(pod).stream()
        .filter(c -> name.equals(c.get("name")))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no container " + name));
  }

  private static Map<?, ?> volumeOf(Map<?, ?> pod, String name) {
    for (Object v : Repo.list(pod.get("volumes"), "volumes")) {
      if (name.equals(Repo.map(v, "volume").get("name"))) {
        return Repo.map(v, "volume");
      }
    }
    throw new AssertionError("no volume " + name);
  }

  private static Map<String, String> env(Map<?, ?> container) {
    Map<String, String> env = new HashMap<>();
    for (Object e : Repo.list(container.get("env"), "env")) {
      Map<?, ?> var = Repo.map(e, "env");
      env.put(Repo.str(var.get("name")), Repo.str(var.get("value")));
    }
    return env;
  }

  /** The volume whose mount holds {@code path}, or null. */
  private static String mountedAt(Map<?, ?> container, String path) {
    for (Object m : Repo.list(container.get("volumeMounts"), "volumeMounts")) {
      Map<?, ?> mount = Repo.map(m, "volumeMount");
      String at = Repo.str(mount.get("mountPath"));
      if (path != null && (path.equals(at) || path.startsWith(at + "/"))) {
        return Repo.str(mount.get("name"));
      }
    }
    return null;
  }

  private static Map<String, String> strings(Map<?, ?> map) {
    Map<String, String> out = new HashMap<>();
    map.forEach((k, v) -> out.put(Repo.str(k), Repo.str(v)));
    return out;
  }

  private static String relativeToMount(Map<?, ?> container, String path) {
    for (Object m : Repo.list(container.get("volumeMounts"), "volumeMounts")) {
      String at = Repo.str(Repo.map(m, "volumeMount").get("mountPath"));
      if (path.startsWith(at + "/")) {
        return path.substring(at.length() + 1);
      }
    }
    throw new AssertionError(path + " is on no mount");
  }
}
