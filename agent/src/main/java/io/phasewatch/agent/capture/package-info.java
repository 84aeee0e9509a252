/**
 * The seam between the training side (DJL taps, the spool sidecar) and the agent's sampling,
 * sketching and publishing. Nothing here imports DJL.
 */
package io.phasewatch.agent.capture;
