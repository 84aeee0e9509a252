/**
 * The one configuration layer of every phasewatch process: known keys with their defaults ({@link
 * io.phasewatch.core.config.ConfigKeys}), read from a YAML file, {@code PHASEWATCH_*} environment
 * variables and {@code key=value} flags into a {@link io.phasewatch.core.config.ConfigSource}, with
 * one size and duration syntax ({@link io.phasewatch.core.config.Units}).
 */
package io.phasewatch.core.config;
