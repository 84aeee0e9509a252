/**
 * The spool sidecar: drains hidden-state files that any trainer writes into a folder (contract in
 * {@code docs/spool.md}), folds each into a sketch and publishes it like the in-process agent does.
 */
package io.phasewatch.agent.spool;
