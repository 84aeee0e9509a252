/**
 * Publishing snapshots to Kafka from a sender thread of its own, with a bounded memory buffer or
 * disk spool for the time the broker is away. Nothing here blocks the caller on the network.
 */
package io.phasewatch.agent.publish;
