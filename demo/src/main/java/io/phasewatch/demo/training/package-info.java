/**
 * The demo's small causal language model that really trains on DJL's PyTorch engine: its corpora,
 * training loop and the post-training stages (SFT, DPO, RLVR), tapped through the agent's {@code
 * LayerTaps}.
 */
package io.phasewatch.demo.training;
