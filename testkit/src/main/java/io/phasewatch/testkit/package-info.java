/**
 * What the other modules' tests share: {@link io.phasewatch.testkit.KafkaBroker}, a real
 * single-node KRaft broker in the test's JVM (a JUnit 5 extension, one per test class), and {@link
 * io.phasewatch.testkit.SnapshotReader}, which reads a topic back and decodes its snapshots. Test
 * scope only: no production class depends on this package.
 */
package io.phasewatch.testkit;
