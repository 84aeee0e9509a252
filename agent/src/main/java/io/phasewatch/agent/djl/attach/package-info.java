/**
 * Taps a DJL training job from the outside: Byte Buddy advice on {@code AbstractBaseBlock.forward}
 * and on {@code Trainer} finds the trainer and its model at run time, samples the outputs of the
 * blocks named in the configuration, and feeds a {@code CaptureSink}; installed by the Java agent,
 * at start or into a running JVM, and removed again on detach or failure.
 */
package io.phasewatch.agent.djl.attach;
