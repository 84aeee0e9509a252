/**
 * The entry points of {@code phasewatch-agent.jar} as a Java agent ({@code -javaagent:} at start,
 * the Attach API into a running JVM): they parse the argument, load the configuration and hand over
 * to the DJL instrumentation. Nothing here imports DJL or may throw into the host.
 */
package io.phasewatch.agent.javaagent;
