/**
 * The DJL side of phasewatch: a small causal language model that really trains, its corpora and
 * training loop, taps that hand hidden states of chosen blocks to a {@code CaptureSink}, and the
 * training listener that runs the probe. The only package that imports DJL.
 */
package io.phasewatch.agent.djl;
