/**
 * The agent side's part of the metric contract of docs/metrics.md: the Micrometer names of the
 * agent's, the spool sidecar's and the checkpoint watcher's own meters, in one class.
 */
package io.phasewatch.agent.metrics;
