/**
 * The agent's inside: a bounded hand-off from the training thread, one sketch thread that folds
 * rows into per-layer sketches and closes windows, and the facade the training side talks to.
 */
package io.phasewatch.agent.core;
