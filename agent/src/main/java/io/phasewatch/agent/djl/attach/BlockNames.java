package io.phasewatch.agent.djl.attach;

import ai.djl.nn.Block;
import ai.djl.util.Pair;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Names the blocks of a DJL model by their path from the root: child names joined with dots. DJL
 * stores a child added as {@code addChildBlock("attn", b)} under {@code "02attn"} (its ordinal, two
 * digits, then the name); the ordinal is dropped unless that makes two siblings equal (a {@code
 * SequentialBlock} of two {@code Linear}s keeps {@code 01Linear} and {@code 03Linear}).
 */
final class BlockNames {

  /** Deeper or larger trees are cut off there: names must stay bounded. */
  static final int MAX_DEPTH = 32;

  static final int MAX_BLOCKS = 10_000;

  private BlockNames() {}

  /** Every block below {@code root} (the root itself excluded), in pre-order. */
  static Map<String, Block> of(Block root) {
    var out = new LinkedHashMap<String, Block>();
    walk("", root, 0, out);
    return out;
  }

  private static void walk(String prefix, Block block, int depth, Map<String, Block> out) {
    if (depth >= MAX_DEPTH) {
      return;
    }
    PairList<String, Block> children = block.getChildren();
    List<String> names = localNames(children);
    for (int i = 0; i < children.size() && out.size() < MAX_BLOCKS; i++) {
      Pair<String, Block> child = children.get(i);
      String name = prefix.isEmpty() ? names.get(i) : prefix + "." + names.get(i);
      out.put(name, child.getValue());
      walk(name, child.getValue(), depth + 1, out);
    }
  }

  static List<String> localNames(PairList<String, Block> children) {
    var stripped = new ArrayList<String>(children.size());
    for (int i = 0; i < children.size(); i++) {
      String raw = children.keyAt(i);
      String ordinal = String.format(Locale.ROOT, "%02d", i + 1);
      stripped.add(
          raw.startsWith(ordinal) && raw.length() > ordinal.length()
              ? raw.substring(ordinal.length())
              : raw);
    }
    Set<String> seen = new HashSet<>();
    boolean unique = stripped.stream().allMatch(seen::add);
    return unique ? stripped : children.keys();
  }
}
