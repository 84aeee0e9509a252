package io.phasewatch.core.wire;

import java.lang.management.ManagementFactory;

/** Bytes the current thread allocates while running an action (HotSpot's per-thread counter). */
final class Allocation {
  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  private Allocation() {}

  interface Action {
    void run() throws Exception;
  }

  /** Runs the action, swallowing {@link WireFormatException}; returns the bytes allocated. */
  static long of(Action action) throws Exception {
    long before = THREADS.getCurrentThreadAllocatedBytes();
    try {
      action.run();
    } catch (WireFormatException expected) {
      // the outcome is checked by the caller; only the allocation is measured here
    }
    return THREADS.getCurrentThreadAllocatedBytes() - before;
  }
}
