/** Benchmark harnesses of the collector, run by hand; results go to docs/benchmarks.md. */
package io.phasewatch.collector.bench;
