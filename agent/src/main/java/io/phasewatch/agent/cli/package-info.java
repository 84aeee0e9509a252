/**
 * The command line of {@code phasewatch-agent.jar}: one picocli subcommand per way of attaching to
 * a training job ({@code watch --spool} today).
 */
package io.phasewatch.agent.cli;
