package io.phasewatch.collector.phase;

import java.util.Locale;

/** The geometric learning phase of one layer, as defined in DESIGN.md's phase table. */
public enum Phase {
  /** The early collapse of a stage: RankMe falling before any other trend was seen. */
  WARMUP,
  /** RankMe rising (in the study, with α falling): the representation spreads out. */
  ENTROPY_SEEKING,
  /** RankMe falling after the warmup (in the study, with α rising): it consolidates. */
  COMPRESSION_SEEKING,
  /** No significant trend (also the state of a segment before its trend is known). */
  STEADY;

  /** The lower-case name used in metrics labels, events and the HTTP API. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
