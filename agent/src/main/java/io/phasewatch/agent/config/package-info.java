/**
 * The agent's one typed configuration: read from YAML, overridden by {@code PHASEWATCH_*}
 * environment variables and command-line flags; unknown keys are errors that name the key.
 */
package io.phasewatch.agent.config;
