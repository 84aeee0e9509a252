/**
 * The one-command demo: an in-process Kafka broker (or the operator's), the collector, and the
 * small model training with the agent attached; a live console and the study's figure at the end.
 */
package io.phasewatch.demo;
