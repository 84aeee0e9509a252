/**
 * Pure-Java readers of 2-D hidden-state matrices saved as {@code .npy}, {@code .npz} and {@code
 * .safetensors}: headers checked against limits, rows streamed in blocks so memory stays bounded.
 */
package io.phasewatch.core.arrays;
