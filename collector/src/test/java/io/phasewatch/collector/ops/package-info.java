/**
 * Checks of the operations files in {@code deploy/} and {@code grafana/}: the real promtool, amtool
 * and TypeScript compiler over the rules, the Alertmanager config and the dashboards, and
 * cross-reference checks of the compose file, the Kubernetes manifests and the metrics contract.
 */
package io.phasewatch.collector.ops;
