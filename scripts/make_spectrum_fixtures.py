#!/usr/bin/env python3
"""Writes the spectrum test fixtures: small matrices (.npy/.npz/.safetensors) and the measures that
phasewatch must reproduce, computed here with numpy straight from the formulas of docs/spectrum.md
(np.cov / np.linalg.eigh, RankMe, weighted least-squares alpha, R^2, participation ratio, shares).

Run from the repository root:  python3 scripts/make_spectrum_fixtures.py
Deterministic (fixed seeds); numpy only.
"""
import json
import os
import struct

import numpy as np

OUT = os.path.join("collector", "src", "test", "resources", "fixtures")
EPS = 1e-7
RANKME_MAX = 2048


def centred_eigenvalues(z):
    """Eigenvalues of the centred sample covariance (1/(n-1)), descending, negatives clipped."""
    c = np.cov(z, rowvar=False, ddof=1)
    c = np.atleast_2d(c)
    lam = np.linalg.eigh(c)[0][::-1]
    return np.clip(lam, 0.0, None)


def rankme(lam, k):
    top = lam[:k]
    p = top / np.sum(np.abs(top)) + EPS
    return float(np.exp(-np.sum(p * np.log(p))))


def positive_count(lam, d):
    if lam.size == 0 or lam[0] <= 0:
        return 0
    tol = lam[0] * d * np.finfo(np.float64).eps
    return int(np.sum(lam > tol))  # lam is descending


def wls_alpha(lam, first, last):
    i = np.arange(first, last + 1, dtype=np.float64)
    y = np.log(lam[first - 1:last])
    w = 1.0 / i
    a = np.stack([-np.log(i), np.ones_like(i)], axis=1)
    sw = np.sqrt(w)
    coef, *_ = np.linalg.lstsq(a * sw[:, None], y * sw, rcond=None)
    yhat = a @ coef
    ybar = np.sum(w * y) / np.sum(w)
    ss_res = np.sum(w * (y - yhat) ** 2)
    ss_tot = np.sum(w * (y - ybar) ** 2)
    return float(coef[0]), float(1.0 - ss_res / ss_tot)


def measures(lam, n, d, first=12, last=100):
    k = int(min(RANKME_MAX, n, d))
    pos = positive_count(lam, d)
    fallback = False
    if last > pos or last > d:
        fallback = True
        last2 = min(50, d - 1, pos)
        first, last = (2, last2) if last2 >= 4 else (None, None)
    if first is None:
        alpha, r2 = None, None
    else:
        alpha, r2 = wls_alpha(lam, first, last)
    total = float(np.sum(lam))
    return {
        "n": int(n),
        "d": int(d),
        "effective_rank": rankme(lam, k),
        "alpha": alpha,
        "alpha_r2": r2,
        "fit_first": first,
        "fit_last": last,
        "fallback": fallback,
        "positive_count": pos,
        "participation_ratio": float(np.sum(lam) ** 2 / np.sum(lam**2)),
        "top1_share": float(lam[0] / total),
        "top10_share": float(np.sum(lam[:10]) / total),
        "total_variance": total,
    }


def matrix_case(name, z, first=12, last=100, extra=None):
    n, d = z.shape
    lam = centred_eigenvalues(z.astype(np.float64))
    m = measures(lam, n, d, first, last)
    m["requested_first"], m["requested_last"] = first, last
    m["total_variance_trace"] = float(np.trace(np.atleast_2d(np.cov(z.astype(np.float64), rowvar=False))))
    m["eigenvalues"] = lam.tolist()
    if extra:
        m.update(extra)
    np.save(os.path.join(OUT, name + ".npy"), z)
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(m, f, indent=1)


def spectrum_case(name, lam, n):
    lam = np.sort(np.asarray(lam, dtype=np.float64))[::-1]
    m = measures(lam, n, lam.size)
    m["eigenvalues"] = lam.tolist()
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(m, f, indent=1)


def power_law_data(rng, n, d, a, mean_scale):
    """Rows with population covariance eigenvalues i^-a in a random basis, plus a mean."""
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    scales = np.arange(1, d + 1, dtype=np.float64) ** (-a / 2.0)
    g = rng.standard_normal((n, d)) * scales
    mu = mean_scale * rng.standard_normal(d)
    return g @ q.T + mu


def write_safetensors(path, tensors):
    header = {}
    blobs = []
    offset = 0
    for name, arr in tensors.items():
        dtype = {np.dtype("<f4"): "F32", np.dtype("<f8"): "F64", np.dtype("<f2"): "F16"}[arr.dtype]
        raw = np.ascontiguousarray(arr).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261130)

    # N > d, the study's window 12..100 exists.
    matrix_case("n_gt_d", power_law_data(rng, 600, 160, 1.0, 0.5))
    # N < d: at most N-1 non-zero eigenvalues; RankMe over min(N, d) of them; fallback window.
    matrix_case("n_lt_d", power_law_data(rng, 60, 150, 1.0, 0.5))
    # A mean far larger than the spread: centring decides everything.
    matrix_case("big_mean", power_law_data(rng, 400, 128, 1.2, 1.0e3))
    # Rank-deficient: 20 latent directions plus a mean; fallback window 2..20.
    u = rng.standard_normal((500, 20)) * (np.arange(1, 21) ** -0.5)
    matrix_case("rank_deficient", u @ rng.standard_normal((20, 128)) + 3.0)
    # Power-law data with a non-default fit window.
    matrix_case("power_law_4_100", power_law_data(rng, 1000, 200, 1.5, 2.0), first=4, last=100)
    # Too few dimensions for any window: alpha is undefined.
    matrix_case("tiny", rng.standard_normal((30, 4)))

    # float32 data as a user would save it, in every container analyze reads; expectations are
    # computed on the float32 values.
    z32 = power_law_data(rng, 500, 128, 0.8, 5.0).astype("<f4")
    matrix_case("f4_matrix", z32)
    np.save(os.path.join(OUT, "f4_matrix_big_endian.npy"), z32.astype(">f4"))
    np.save(os.path.join(OUT, "f4_matrix_fortran.npy"), np.asfortranarray(z32))
    np.savez(os.path.join(OUT, "two_layers.npz"), layer0=z32, layer1=z32.astype("<f8"))
    np.savez_compressed(os.path.join(OUT, "two_layers_deflated.npz"), layer0=z32, layer1=z32.astype("<f8"))
    write_safetensors(os.path.join(OUT, "two_layers.safetensors"), {"layer0": z32, "layer1": z32.astype("<f8")})
    np.save(os.path.join(OUT, "int_matrix.npy"), np.arange(12, dtype="<i4").reshape(3, 4))
    np.save(os.path.join(OUT, "vector.npy"), np.arange(12, dtype="<f4"))
    z_nan = z32.copy()
    z_nan[[3, 77, 401]] = [np.nan] * 128
    z_nan[10, 5] = np.inf
    finite = np.all(np.isfinite(z_nan), axis=1)
    matrix_case("f4_matrix_nonfinite", z_nan[finite], extra={"nonfinite_rows": int(np.sum(~finite))})
    np.save(os.path.join(OUT, "f4_matrix_nonfinite.npy"), z_nan)  # overwrite: the file keeps its bad rows

    # Spectra given directly.
    for a in (0.8, 1.0, 1.5):
        spectrum_case("spectrum_power_%s" % str(a).replace(".", "_"), np.arange(1, 301) ** (-a), 5000)


if __name__ == "__main__":
    main()
