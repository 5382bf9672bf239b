"""Fit the degree-2 polynomial of the table form of exp (runtime/dlcoder_rt/simd_math.h,
exp_table): exp(r) = 1 + c1 r + c2 r^2 on |r| <= ln2/64, weighted towards the least maximum
relative error (Lawson), and print c1, c2 rounded to float, with the error of the fit and of
the 32 table entries 2^(j/32) rounded to float (both in units of 2^-23, an ulp at 1).

Needs numpy only (not a runtime or test dependency): python3 tools/fit_exp_lut.py
"""
import numpy as np

H = np.log(2) / 64


def fit(iters: int = 200):
    r = np.linspace(-H, H, 20001)
    f = np.exp(r)
    a = np.stack([r, r * r], axis=1) / f[:, None]    # relative error of 1 + c1 r + c2 r^2
    w = np.ones_like(r)
    for _ in range(iters):
        c, *_ = np.linalg.lstsq(a * w[:, None], (1 - 1 / f) * w, rcond=None)
        err = 1 / f + a @ c - 1
        w *= 1 + 3 * np.abs(err) / np.abs(err).max()
    return np.float32(c)


def main():
    c = fit()
    r = np.linspace(-H, H, 200001)
    err = np.abs((1 + float(c[0]) * r + float(c[1]) * r * r) / np.exp(r) - 1).max()
    exact = 2.0 ** (np.arange(32) / 32)
    table = np.abs(np.float32(exact) / exact - 1).max()
    print(f"c1 = {float(c[0]).hex()}, c2 = {float(c[1]).hex()}")
    print(f"relative error: polynomial {err / 2 ** -23:.3f}, table {table / 2 ** -23:.3f} (units of 2^-23)")


if __name__ == "__main__":
    main()
