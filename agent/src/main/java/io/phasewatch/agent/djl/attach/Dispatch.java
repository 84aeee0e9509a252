package io.phasewatch.agent.djl.attach;

/**
 * The static entry points the advice inlines into DJL's classes. Public because that code runs in
 * {@code ai.djl} packages; typed {@code Object} so that loading this class needs no DJL. Every
 * entry returns at once when nothing is installed, and none throws (the advice suppresses too).
 */
public final class Dispatch {

  private static volatile TrainerTaps taps;

  private Dispatch() {}

  static void install(TrainerTaps t) {
    taps = t;
  }

  /** Removes {@code t} if it is the one installed. */
  static void clear(TrainerTaps t) {
    if (taps == t) {
      taps = null;
    }
  }

  static boolean installed() {
    return taps != null;
  }

  /** Exit of {@code AbstractBaseBlock.forward}: {@code block} returned {@code out}. */
  public static void forwardExit(Object block, boolean training, Object out) {
    TrainerTaps t = taps;
    if (t != null && training && t.armed) {
      try {
        t.forwardExit(block, out);
      } catch (Throwable e) {
        clear(t);
        t.fail("tap", e);
      }
    }
  }

  /** Entry of {@code Trainer.forward}: a training forward pass of {@code input} begins. */
  public static void trainerForward(Object trainer, Object input) {
    TrainerTaps t = taps;
    if (t != null) {
      try {
        t.trainerForward(trainer, input);
      } catch (Throwable e) {
        clear(t);
        t.fail("trainer", e);
      }
    }
  }

  /** Exit of {@code Trainer.step}: one optimisation step is done. */
  public static void stepExit(Object trainer) {
    TrainerTaps t = taps;
    if (t != null) {
      try {
        t.stepExit(trainer);
      } catch (Throwable e) {
        clear(t);
        t.fail("trainer", e);
      }
    }
  }

  /**
   * Entry of {@code GradientCollector.backward}: {@code target} is the loss of the training step in
   * progress. Read only on sampled steps, so an unsampled step pays one volatile read.
   */
  public static void backward(Object target) {
    TrainerTaps t = taps;
    if (t != null && t.armed) {
      try {
        t.backward(target);
      } catch (Throwable e) {
        clear(t);
        t.fail("loss", e);
      }
    }
  }

  /** Exit of {@code Trainer.close}. */
  public static void trainerClosed(Object trainer) {
    TrainerTaps t = taps;
    if (t != null) {
      try {
        t.trainerClosed(trainer);
      } catch (Throwable e) {
        clear(t);
        t.fail("trainer", e);
      }
    }
  }
}
