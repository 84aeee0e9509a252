/**
 * Learning-phase detection per (run, layer) from the series of (step, RankMe, α): smoothing on a
 * log-step axis, trend signs with hysteresis and a minimum duration (see docs/phases.md).
 */
package io.phasewatch.collector.phase;
