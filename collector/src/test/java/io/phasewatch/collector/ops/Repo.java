package io.phasewatch.collector.ops;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/** The repository's files as the ops tests read them: paths from the root, YAML as plain trees. */
final class Repo {

  private Repo() {}

  /** The repository root: the nearest directory above the working directory holding deploy/. */
  static Path root() {
    Path dir = Path.of("").toAbsolutePath();
    for (Path p = dir; p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve("deploy")) && Files.isDirectory(p.resolve("grafana"))) {
        return p;
      }
    }
    throw new IllegalStateException("no deploy/ and grafana/ above " + dir);
  }

  static Path file(String relative) {
    Path p = root().resolve(relative);
    if (!Files.exists(p)) {
      throw new IllegalStateException("missing " + relative);
    }
    return p;
  }

  static String read(Path p) {
    try {
      return Files.readString(p, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** One YAML document, with the safe constructor (plain maps, lists and scalars only). */
  static Object yaml(Path p) {
    return new Yaml(new SafeConstructor(new LoaderOptions())).load(read(p));
  }

  static List<Object> yamlDocuments(Path p) {
    List<Object> docs = new ArrayList<>();
    for (Object d : new Yaml(new SafeConstructor(new LoaderOptions())).loadAll(read(p))) {
      if (d != null) {
        docs.add(d);
      }
    }
    return docs;
  }

  static Map<?, ?> map(Object node, String what) {
    if (node instanceof Map<?, ?> m) {
      return m;
    }
    throw new AssertionError(what + ": expected a mapping, got " + node);
  }

  static List<?> list(Object node, String what) {
    if (node == null) {
      return List.of();
    }
    if (node instanceof List<?> l) {
      return l;
    }
    throw new AssertionError(what + ": expected a list, got " + node);
  }

  static Map<?, ?> child(Map<?, ?> parent, String key) {
    Object v = parent.get(key);
    return v == null ? Map.of() : map(v, key);
  }

  static String str(Object node) {
    return node == null ? null : String.valueOf(node);
  }
}
