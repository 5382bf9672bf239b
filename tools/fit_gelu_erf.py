"""Fit the rational erf of the GELU kernel (runtime/dlcoder_rt/simd_math.h, kGelu).

erf(u) = u P(u^2) / Q(u^2) on 0 <= u <= UMAX, P and Q of degree 5, Q(0) = 1: a linearised
least-squares fit (P - f Q = 0, f = erf(u) / u), reweighted a few dozen times towards the
least maximum error (Lawson). The kernel takes x = sqrt(2) u directly, so the coefficients
are rescaled to erf(x / sqrt 2) = x P'(x^2) / Q'(x^2). Prints them in the kernel's order
(highest degree first) with the error of the fit and of a float32 evaluation.

Needs numpy and scipy (not a runtime or test dependency): python3 tools/fit_gelu_erf.py
"""
import numpy as np
from scipy.special import erf

UMAX = 3.925          # erf(3.925) = 1 - 5e-8: past it, erf is 1 in float
DEGREE = 5


def fit(degree: int = DEGREE, iters: int = 30):
    u = np.linspace(1e-4, UMAX, 20000)
    z, f = u * u, erf(u) / u
    weight, q = np.ones_like(z), np.ones_like(z)
    for _ in range(iters):
        a = np.concatenate([np.vander(z, degree + 1, increasing=True),
                            -(f[:, None] * np.vander(z, degree + 1, increasing=True)[:, 1:])], axis=1)
        w = (weight / np.abs(q) * u)[:, None]        # the error of erf, not of erf / u
        c, *_ = np.linalg.lstsq(a * w, f * w[:, 0], rcond=None)
        p, qc = c[:degree + 1], np.concatenate([[1.0], c[degree + 1:]])
        q = np.polyval(qc[::-1], z)
        err = u * np.polyval(p[::-1], z) / q - erf(u)
        weight *= 1 + 2 * np.abs(err) / np.abs(err).max()
    assert (q > 0).all(), "Q has a root in the range"
    return p, qc, float(np.abs(err).max())


def main():
    p, q, fit_err = fit()
    pk = np.float32([c / 2 ** i / np.sqrt(2) for i, c in enumerate(p)])   # in x = sqrt(2) u
    qk = np.float32([c / 2 ** i for i, c in enumerate(q)])
    xmax = np.float32(UMAX * np.sqrt(2))
    x = np.linspace(-7, 7, 400001).astype(np.float32)
    xc = np.clip(x, -xmax, xmax)
    w = xc * xc
    pv, qv = pk[-1], qk[-1]
    for a, b in zip(pk[-2::-1], qk[-2::-1]):
        pv, qv = pv * w + a, qv * w + b
    e = xc * pv / qv
    ref = erf(x.astype(np.float64) / np.sqrt(2))
    print(f"clamp |x| <= {xmax!r}; fit error {fit_err:.2e}, float32 error {np.abs(e - ref).max():.2e}")
    print("P, highest degree first:", ", ".join(repr(float(c)) for c in pk[::-1]))
    print("Q, highest degree first:", ", ".join(repr(float(c)) for c in qk[::-1]))


if __name__ == "__main__":
    main()
