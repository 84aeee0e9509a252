#!/usr/bin/env python3
"""numpy side of SpectrumBenchmark: times the same spectra on the same data, prints JSON.

Called by io.phasewatch.collector.bench.SpectrumBenchmark with the folder it wrote; run it with
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 (the harness does) so both sides use one thread.
"""
import json
import sys
import time

import numpy as np


def timed(f, reps):
    f()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = f()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), out


def fd_spectrum(b, mu, n):
    # Same computation as phasewatch: X = [B; sqrt(n) mu], thin QR of X^T, eigvalsh(R S R^T).
    x = np.vstack([b, np.sqrt(n) * mu])
    r = np.linalg.qr(x.T, mode="r")
    h = r @ r.T - 2.0 * np.outer(r[:, -1], r[:, -1])
    lam = np.linalg.eigvalsh(h / (n - 1))[::-1]
    return np.clip(lam, 0, None)


def main():
    d = sys.argv[1]
    meta = json.load(open(d + "/meta.json"))
    n, reps = meta["n"], meta["reps"]
    b = np.load(d + "/fd_rows.npy")
    mu = np.load(d + "/fd_mean.npy")[0]
    c = np.load(d + "/exact_cov.npy")
    t_fd, lam_fd = timed(lambda: fd_spectrum(b, mu, n), reps)
    t_ex, lam_ex = timed(lambda: np.clip(np.linalg.eigvalsh(c)[::-1], 0, None), reps)
    json.dump(
        {
            "fd_median_s": t_fd,
            "exact_median_s": t_ex,
            "fd_eigenvalues": lam_fd.tolist(),
            "exact_eigenvalues": lam_ex.tolist(),
            "numpy": np.__version__,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
