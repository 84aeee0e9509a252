package io.phasewatch.agent.core;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Per-layer state both threads touch: the training thread counts drops, the sketch thread reads.
 */
final class LayerCounters {
  final String name;
  final AtomicLong dropped = new AtomicLong();
  volatile boolean failed;

  LayerCounters(String name) {
    this.name = name;
  }
}
