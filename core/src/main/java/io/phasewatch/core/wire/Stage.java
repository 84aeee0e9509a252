package io.phasewatch.core.wire;

import java.util.Locale;

/** The training stage a snapshot was taken in; a change of stage starts a new phase segment. */
public enum Stage {
  PRETRAIN,
  SFT,
  DPO,
  RLVR,
  OTHER;

  /** The lower-case name used on the wire, in metrics labels and in configuration. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static Stage fromLabel(String label) {
    for (Stage s : values()) {
      if (s.label().equals(label)) {
        return s;
      }
    }
    throw new IllegalArgumentException(
        "unknown stage '" + label + "' (expected pretrain, sft, dpo, rlvr or other)");
  }
}
