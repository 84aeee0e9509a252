/**
 * From Kafka record values to merged windows: decoding and chunk reassembly (the wire module),
 * bounded per-run bookkeeping, and the merge of all data-parallel ranks of a (run, layer, window).
 */
package io.phasewatch.collector.ingest;
