"""The float activations built on simd_math.h's exp_v and tanh (EXP, LOGISTIC, TANH, ELU,
GELU with approximate=tanh, the fused x * LOGISTIC(x) swish, SOFTMAX with beta 1 and not 1)
on every x86 path, against TFLite's builtin kernels and against float64.

AVX-512 takes 2^(j/32) from a 32-entry table (one permute) and 2^floor(n/32) from vscalefps;
the other paths take the degree-5 polynomial. The input holds, on each path:
  - dense ordinary values, which reach every table index for each op's scaling (x, -x, -2x);
  - the ends, scattered one per vector among ordinary values so that every lane position
    meets some: +-0, subnormals, +-inf, NaN, +-FLT_MAX, both sides of exp's overflow
    (88.7228) and underflow (-87.34 subnormal, -103.97 zero), tanh's saturation and clamp (+-9.01, +-9.1),
    values where GELU's exp(-2u) overflows;
and a partial last vector at every width. SOFTMAX rows of 37 span a range of 200, so x - max
reaches exp_v's bottom clamp.

Each output must agree with TFLite in class (NaN, +inf, -inf, finite) element by element,
and the finite values within the op's tolerance of TFLite and of the float64 function.
"""
from __future__ import annotations

import numpy as np
import pytest

from dlcoder import verify as V
from models.op_hand import HandModel
from support import run_ours
from test_isa import x86_isa

F32 = np.float32
INF, NAN, BIG = np.inf, np.nan, float(np.finfo(F32).max)
ENDS = [0.0, -0.0, 1e-45, -1e-45, 1e-40, -1e-40, 1.1754944e-38, INF, -INF, NAN, BIG, -BIG,
        88.72283, 88.72284, 89.0, 90.0, 1e4, -87.33, -87.34, -88.0, -103.9, -103.97, -104.0, -105.0,
        -1e4, 9.0, 9.01, 9.1, 9.2, -9.0, -9.01, -9.1, -9.2, 20.0, -20.0, 44.4, -44.4, 1e-8, -1e-8,
        1e-4, -1e-4, 17.3, -17.3, 16.7, -16.7, 0.34657359, -0.34657359]
STRIDE = 17  # one end per 17 values: every lane of 16, 8 and 4 in turn
SOFTMAX_ROWS, SOFTMAX_DEPTH = 24, 37


def _x():
    rng = np.random.default_rng(19)
    dense = rng.uniform(-12.0, 12.0, 3000)
    wide = np.sign(rng.uniform(-1, 1, 1000)) * 10.0 ** rng.uniform(-6, 2.05, 1000)
    mixed = rng.uniform(-4.0, 4.0, STRIDE * len(ENDS) + 7)  # 4806 in all: 6 past whole vectors of 8 and 16, 2 of 4
    mixed[: STRIDE * len(ENDS): STRIDE] = ENDS
    return np.concatenate([dense, wide, mixed]).astype(F32).reshape(1, -1)


# name, op, options, float64 function, (absolute, relative) tolerance against float64,
# the same against TFLite, whose own kernels are approximations too (its TANH and LOGISTIC
# are Eigen's rational functions, its GELU loses 1 + tanh(u) to cancellation for x << 0).
# Absolute tolerances of 2^-148 admit a last-bit difference among subnormals; LOGISTIC is 0
# where exp(-x) overflows (x < -88.72, as TFLite's), which its 1.2e-38 admits (4e-37 in swish).
def _gelu_tanh(x):
    return x / (1 + np.exp(-1.5957691216057308 * (x + 0.044715 * x ** 3)))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


U = 2.0 ** -24  # the unit roundoff: half an ulp at 1, relative
TINY = 2.0 ** -148
OPS = [
    ("exp", "EXP", None, {}, np.exp, (TINY, 4.5 * U), (TINY, 5.5 * U)),
    ("logistic", "LOGISTIC", None, {}, _sigmoid, (1.2e-38, 5 * U), (1.5e-7, 8 * U)),
    ("tanh", "TANH", None, {}, np.tanh, (1.5e-7, 0), (4e-7, 0)),
    ("elu", "ELU", None, {}, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))), (1.3e-7, U), (1.5e-7, U)),
    ("gelu_tanh", "GELU", "GeluOptions", {"Approximate": True}, _gelu_tanh, (1e-7, 3 * U), (8e-7, 4 * U)),
]
SWISH = ("swish", lambda x: x * _sigmoid(x), (4e-37, 4 * U), (1.5e-7, 10 * U))


def _model(n):
    m = HandModel()
    x = m.input((1, n))
    for _, op, opts, kw, *_ in OPS:
        m.output(m.op(op, [x], [m.tensor((1, n))], opts, **kw))
    sig = m.op("LOGISTIC", [x], [m.tensor((1, n))])  # read only by the MUL: fused into swish
    m.output(m.op("MUL", [x, sig], [m.tensor((1, n))], "MulOptions", FusedActivationFunction=0))
    s = m.input((SOFTMAX_ROWS, SOFTMAX_DEPTH))
    for beta in (1.0, 0.7):
        m.output(m.op("SOFTMAX", [s], [m.tensor((SOFTMAX_ROWS, SOFTMAX_DEPTH))], "SoftmaxOptions", Beta=beta))
    return m


def _softmax64(s, beta):
    """From exp's float32 argument (x - max, times beta if not 1, each rounded as ours and
    TFLite's are): its rounding error is exp's input, not exp's error."""
    z = s - s.max(axis=-1, keepdims=True)
    if beta != 1.0:
        z = z * F32(beta)
    e = np.exp(z.astype(np.float64))
    return e / e.sum(axis=-1, keepdims=True)


def _problems(name, o, r, truth, tol_truth, tol_ref, x):
    """Lines naming the elements of one output that disagree in class with TFLite, or whose
    finite value is off by more than abs + rel |value| from TFLite or float64."""
    o, r = o.astype(np.float64).ravel(), r.astype(np.float64).ravel()
    x = x.ravel()
    out = []
    cls = lambda v: np.where(np.isnan(v), 0, np.where(v == INF, 1, np.where(v == -INF, 2, 3)))  # noqa: E731
    bad = np.flatnonzero(cls(o) != cls(r))
    if bad.size:
        out.append(f"{name}: {bad.size} class mismatches, at x = {x[bad[:4]]}: ours {o[bad[:4]]}, tflite {r[bad[:4]]}")
    fin = np.isfinite(o) & np.isfinite(r)
    for what, ref, (a, rel) in (("tflite", r, tol_ref), ("float64", truth.ravel(), tol_truth)):
        ok = ~fin | ~np.isfinite(ref) | (np.abs(o - ref) <= a + rel * np.abs(ref))
        bad = np.flatnonzero(~ok)
        if bad.size:
            worst = bad[np.argmax(np.abs(o - ref)[bad])]
            out.append(f"{name}: {bad.size} off {what} beyond ({a}, {rel}), worst at x = {x[worst]!r}: "
                       f"ours {o[worst]!r}, {what} {ref[worst]!r}")
    return out


@pytest.mark.parametrize("isa", ["avx512", "avx2", "sse2", "scalar"])
def test_activations_match_tflite_and_float64_on_every_path(isa, tmp_path):
    x = _x()
    s = (np.random.default_rng(5).uniform(-100.0, 100.0, (SOFTMAX_ROWS, SOFTMAX_DEPTH))).astype(F32)
    path = tmp_path / "act.tflite"
    path.write_bytes(_model(x.shape[1]).build())
    ours, _, _ = run_ours(path, [x, s], str(tmp_path), flags=("-O2", f"-DDLCODER_RT_FORCE_ISA={x86_isa(isa)}"))
    refs, _ = V.reference_run(str(path), [x, s])
    x64 = x.astype(np.float64)
    problems = []
    with np.errstate(over="ignore", invalid="ignore"):
        for (name, _, _, _, f, tol64, tolref), o, r in zip(OPS, ours, refs):
            problems += _problems(name, o, r, f(x64), tol64, tolref, x)
        name, f, tol64, tolref = SWISH
        problems += _problems(name, ours[len(OPS)], refs[len(OPS)], f(x64), tol64, tolref, x)
        for beta, o, r in zip((1.0, 0.7), ours[len(OPS) + 1:], refs[len(OPS) + 1:]):
            problems += _problems(f"softmax beta {beta}", o, r, _softmax64(s, beta), (TINY, 6 * U), (TINY, 9 * U), s)
    assert not problems, "\n".join(problems)
