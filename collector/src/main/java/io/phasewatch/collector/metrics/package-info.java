/**
 * The metric contract of docs/metrics.md in code: the names, and the binders that register the
 * per-layer and health meters on a Micrometer registry and remove them when a run is evicted.
 */
package io.phasewatch.collector.metrics;
