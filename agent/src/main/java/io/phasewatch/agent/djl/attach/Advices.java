package io.phasewatch.agent.djl.attach;

import net.bytebuddy.asm.Advice;

/**
 * Advice inlined into DJL's byte code. Each body is one call into {@link Dispatch}; {@code
 * suppress} swallows anything that escapes it, so the host's method always completes as written.
 */
final class Advices {

  private Advices() {}

  /** {@code AbstractBaseBlock.forward(ParameterStore, NDList, boolean, PairList)}. */
  static final class Forward {
    private Forward() {}

    @Advice.OnMethodExit(suppress = Throwable.class)
    static void exit(
        @Advice.This Object block,
        @Advice.Argument(2) boolean training,
        @Advice.Return Object out) {
      Dispatch.forwardExit(block, training, out);
    }
  }

  /** {@code AbstractBaseBlock.forward(ParameterStore, NDList, NDList, PairList)}: training. */
  static final class ForwardWithLabels {
    private ForwardWithLabels() {}

    @Advice.OnMethodExit(suppress = Throwable.class)
    static void exit(@Advice.This Object block, @Advice.Return Object out) {
      Dispatch.forwardExit(block, true, out);
    }
  }

  /** {@code Trainer.forward(NDList)} and {@code Trainer.forward(NDList, NDList)}. */
  static final class TrainerForward {
    private TrainerForward() {}

    @Advice.OnMethodEnter(suppress = Throwable.class)
    static void enter(@Advice.This Object trainer, @Advice.Argument(0) Object input) {
      Dispatch.trainerForward(trainer, input);
    }
  }

  /** {@code Trainer.step()}. */
  static final class Step {
    private Step() {}

    @Advice.OnMethodExit(suppress = Throwable.class)
    static void exit(@Advice.This Object trainer) {
      Dispatch.stepExit(trainer);
    }
  }

  /** {@code GradientCollector.backward(NDArray)}: its argument is the training loss of the step. */
  static final class Backward {
    private Backward() {}

    @Advice.OnMethodEnter(suppress = Throwable.class)
    static void enter(@Advice.Argument(0) Object target) {
      Dispatch.backward(target);
    }
  }

  /** {@code Trainer.close()}. */
  static final class Close {
    private Close() {}

    @Advice.OnMethodExit(suppress = Throwable.class)
    static void exit(@Advice.This Object trainer) {
      Dispatch.trainerClosed(trainer);
    }
  }
}
