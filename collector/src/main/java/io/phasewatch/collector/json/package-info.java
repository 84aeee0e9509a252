/**
 * The one JSON contract of the measures (docs/http-api.md): field names are the Prometheus metric
 * names without {@code phasewatch_}, written by Vert.x's Jackson-backed {@code JsonObject}; used by
 * the HTTP API, {@code analyze --json} and the demo's {@code summary.json}.
 */
package io.phasewatch.collector.json;
