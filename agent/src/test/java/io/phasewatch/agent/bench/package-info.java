/** Benchmark harnesses for the sketches; their results and commands are in docs/benchmarks.md. */
package io.phasewatch.agent.bench;
