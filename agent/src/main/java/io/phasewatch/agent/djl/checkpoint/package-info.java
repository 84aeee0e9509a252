/**
 * The checkpoint watcher: every new TorchScript checkpoint of a running job is loaded through DJL,
 * a fixed probe set runs through it, and the hidden states it returns are handed to a {@code
 * CaptureSink} with the checkpoint's step — the study's own protocol, live.
 */
package io.phasewatch.agent.djl.checkpoint;
