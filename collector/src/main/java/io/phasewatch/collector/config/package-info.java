/**
 * The collector's one typed configuration record, read from YAML, the environment and command-line
 * overrides; every key is documented in docs/configuration.md and unknown keys are errors.
 */
package io.phasewatch.collector.config;
