package io.phasewatch.collector.bench;

import io.phasewatch.collector.spectrum.SpectralMeasures;
import io.phasewatch.collector.spectrum.Spectrum;
import io.phasewatch.core.sketch.ExactSummary;
import io.phasewatch.core.sketch.FrequentDirections;
import java.util.Locale;
import java.util.Random;

/**
 * RankMe and α from Frequent Directions at ℓ = d/16, d/8, d/4 against the exact summary of the same
 * rows: power-law population spectra λ_i = i^-a, a ∈ {0.8, 1.0, 1.5}, d = 1024, N = 6000, a mean of
 * norm ≈ 3·√d. Both summaries and FD are rotation-equivariant, so the power law is laid out on the
 * coordinate axes. A measurement, not a pass/fail.
 *
 * <p>Run: {@code mvn -q -B install -DskipTests -pl agent && mvn -q -B -pl collector test-compile
 * exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=io.phasewatch.collector.bench.SpectrumAccuracyTable}
 */
public final class SpectrumAccuracyTable {

  private SpectrumAccuracyTable() {}

  public static void main(String[] args) {
    int d = Integer.getInteger("bench.d", 1024);
    int n = Integer.getInteger("bench.n", 6000);
    System.out.println(
        "| a | ℓ | RankMe exact | RankMe FD estimate (error) | FD interval | RankMe of sketched λ̂"
            + " (error) | α exact | α FD estimate | α interval | α of sketched λ̂ | dropped / total |");
    System.out.println("|---|---|---|---|---|---|---|---|---|---|---|");
    for (double a : new double[] {0.8, 1.0, 1.5}) {
      Random rnd = new Random(Double.hashCode(a));
      float[] rows = new float[n * d];
      double[] mu = new double[d];
      for (int j = 0; j < d; j++) {
        mu[j] = 3.0 * rnd.nextGaussian();
      }
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < d; j++) {
          rows[i * d + j] = (float) (mu[j] + rnd.nextGaussian() * Math.pow(j + 1, -a / 2));
        }
      }
      ExactSummary exact = ExactSummary.ofDimension(d);
      exact.update(rows, n);
      SpectralMeasures truth = SpectralMeasures.of(Spectrum.of(exact.snapshot()));
      for (int ell : new int[] {d / 16, d / 8, d / 4}) {
        FrequentDirections fd = FrequentDirections.withRows(ell, d);
        fd.update(rows, n);
        Spectrum s = Spectrum.of(fd.snapshot());
        SpectralMeasures m = SpectralMeasures.of(s);
        System.out.printf(
            Locale.ROOT,
            "| %.1f | %d | %.1f | %.1f (%+.1f%%) | [%.1f, %.1f] | %.1f (%+.1f%%) | %.3f | %.3f | %s |"
                + " %s | %.3f |%n",
            a,
            ell,
            truth.effectiveRank(),
            m.effectiveRank(),
            100 * (m.effectiveRank() / truth.effectiveRank() - 1),
            m.effectiveRankLow(),
            m.effectiveRankHigh(),
            m.sketchEffectiveRank(),
            100 * (m.sketchEffectiveRank() / truth.effectiveRank() - 1),
            truth.alpha(),
            m.alpha(),
            String.format(Locale.ROOT, "[%.3f, %.3f]", m.alphaLow(), m.alphaHigh()),
            String.format(
                Locale.ROOT,
                "%.3f%s",
                m.sketchAlpha(),
                m.fallbackWindow() ? " (" + m.fitRange() + ")" : ""),
            s.droppedVariance() / s.totalVariance());
      }
    }
  }
}
