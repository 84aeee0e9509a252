#!/usr/bin/env python3
"""numpy side of SpectrumBenchmark: times spectra of the same data, prints JSON.

Called by io.phasewatch.collector.bench.SpectrumBenchmark with the folder it wrote; run it with
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 (the harness does) so both sides use one thread. Times are
process CPU seconds (time.process_time), median of `reps` runs after one warm-up.

FD snapshot (rows B, mean mu, count n): the covariance is (B^T B - n mu mu^T)/(n-1).
  fd_svd:      numpy.linalg.svd(C, compute_uv=False) of C = [B; sqrt(n) mu], the textbook call on
               the same-shaped matrix. Its squares are the eigenvalues of B^T B + n mu mu^T (the
               mean term added, not subtracted), so it is a timing reference only.
  fd_qr:       thin QR of C^T, then eigvalsh(R S R^T), S = diag(1, ..., 1, -1): the same eigenvalues
               by the backward-stable route (phasewatch's previous algorithm).
  fd_gram:     phasewatch's algorithm: G = X X^T (X = [B; mu]), Cholesky G = L L^T,
               eigvalsh(L^T W L), W = diag(1, ..., 1, -n)/(n-1).
Exact summary (covariance c): eigvalsh(c), the textbook call and phasewatch's algorithm at once.
"""
import json
import sys
import time

import numpy as np


def timed(f, reps):
    f()
    ts = []
    out = None
    for _ in range(reps):
        t0 = time.process_time()
        out = f()
        ts.append(time.process_time() - t0)
    return float(np.median(ts)), out


def desc(lam):
    return np.clip(np.sort(lam)[::-1], 0, None)


def fd_svd(b, mu, n):
    c = np.vstack([b, np.sqrt(n) * mu])
    s = np.linalg.svd(c, compute_uv=False)
    return s * s / (n - 1)


def fd_qr(b, mu, n):
    x = np.vstack([b, np.sqrt(n) * mu])
    r = np.linalg.qr(x.T, mode="r")
    h = r @ r.T - 2.0 * np.outer(r[:, -1], r[:, -1])
    return desc(np.linalg.eigvalsh(h / (n - 1)))


def fd_gram(b, mu, n):
    x = np.vstack([b, mu])
    g = x @ x.T
    low = np.linalg.cholesky(g)
    w = np.full(x.shape[0], 1.0 / (n - 1))
    w[-1] = -n / (n - 1)
    h = low.T @ (w[:, None] * low)
    return desc(np.linalg.eigvalsh(h))


def main():
    d = sys.argv[1]
    meta = json.load(open(d + "/meta.json"))
    n, reps = meta["n"], meta["reps"]
    b = np.load(d + "/fd_rows.npy")
    mu = np.load(d + "/fd_mean.npy")[0]
    c = np.load(d + "/exact_cov.npy")
    out = {"numpy": np.__version__}
    for name, f in [
        ("fd_svd", lambda: fd_svd(b, mu, n)),
        ("fd_qr", lambda: fd_qr(b, mu, n)),
        ("fd_gram", lambda: fd_gram(b, mu, n)),
        ("exact", lambda: desc(np.linalg.eigvalsh(c))),
    ]:
        t, lam = timed(f, reps)
        out[name + "_median_s"] = t
        out[name + "_eigenvalues"] = lam.tolist()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
