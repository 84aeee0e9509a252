/**
 * The study's spectral measures of a covariance snapshot: the centred eigenvalues (exact or through
 * a Frequent Directions sketch), RankMe, the power-law exponent α, and their error bounds.
 */
package io.phasewatch.collector.spectrum;
