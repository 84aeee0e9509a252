/**
 * The collector's HTTP face (Vert.x Web): the Prometheus scrape, health probes and the small JSON
 * API over runs, per-layer series and phase transitions.
 */
package io.phasewatch.collector.http;
