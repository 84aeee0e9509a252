/**
 * The DJL side of the agent: taps that hand hidden states of chosen blocks to a {@code
 * CaptureSink}, the training listener that runs the probe, the probe set, and (in subpackages) the
 * {@code -javaagent} instrumentation and the checkpoint watcher. The only agent package that
 * imports DJL.
 */
package io.phasewatch.agent.djl;
