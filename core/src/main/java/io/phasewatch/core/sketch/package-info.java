/**
 * Mergeable summaries of hidden-state rows: the exact co-moment summary, a uniform row sample and
 * Frequent Directions. Pure math: no Kafka, Vert.x or DJL here.
 */
package io.phasewatch.core.sketch;
