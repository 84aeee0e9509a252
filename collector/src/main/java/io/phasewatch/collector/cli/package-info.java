/**
 * The command line of the collector jar: {@code Main} lists the subcommands; {@code analyze} prints
 * the study's spectral measures of saved hidden-state matrices.
 */
package io.phasewatch.collector.cli;
