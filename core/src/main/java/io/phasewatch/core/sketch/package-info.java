/**
 * Mergeable covariance summaries of hidden-state rows: the exact co-moment summary and Frequent
 * Directions. Pure math: no Kafka, Vert.x or DJL here.
 */
package io.phasewatch.core.sketch;
