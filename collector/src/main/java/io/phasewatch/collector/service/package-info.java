/**
 * The running collector: the verticles (ingest thread, analysis on a named worker pool, HTTP), the
 * per-layer state they share, and the {@code serve} command that wires them.
 */
package io.phasewatch.collector.service;
