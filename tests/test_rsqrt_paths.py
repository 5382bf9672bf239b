"""RSQRT (simd.h rsqrt): the estimate-and-Newton-step path on normal positive floats and
subnormals, and the lanes it fixes (0, -0 and inf: AVX-512 by class in one vfixupimm, AVX2
through 1 / sqrt) or leaves NaN (negatives, NaN), vector by vector on each x86 ISA, against
TFLite's builtin kernel."""
from __future__ import annotations

import numpy as np
import pytest

from dlcoder import verify as V
from models.op_hand import single_op
from support import run_ours
from test_isa import x86_isa

ODD = np.array([0.0, -0.0, 1e-45, 1e-40, 1.1754942e-38, 1.1754944e-38, np.inf, -np.inf, -1.0, -1e-40,
                np.nan, 3.4028235e38], np.float32)


def _input():
    """Vectors of normal floats over the whole exponent range (the fast path alone), then
    the odd values scattered one per vector among normal ones, so each vector of every
    width meets one."""
    rng = np.random.default_rng(11)
    normal = (2.0 ** rng.uniform(-125, 127, 256)).astype(np.float32)
    mixed = (2.0 ** rng.uniform(-20, 20, 16 * len(ODD))).astype(np.float32)
    mixed[::16] = ODD
    return np.concatenate([normal, mixed]).reshape(1, -1)


@pytest.mark.parametrize("isa", ["avx512", "avx2", "sse2"])
def test_rsqrt_matches_tflite_on_every_kind_of_lane(isa, tmp_path):
    x = _input()
    m, feeds = single_op("RSQRT", [x], [x.shape])
    path = tmp_path / "rsqrt.tflite"
    path.write_bytes(m.build())
    (ours,), _, _ = run_ours(path, feeds, str(tmp_path), flags=("-O2", f"-DDLCODER_RT_FORCE_ISA={x86_isa(isa)}"))
    (ref,), _ = V.reference_run(str(path), feeds)
    assert np.array_equal(np.isnan(ours), np.isnan(ref))
    assert np.array_equal(np.isinf(ours), np.isinf(ref)) and np.array_equal(ours[np.isinf(ours)], ref[np.isinf(ref)])
    zero = ref == 0
    assert np.array_equal(ours[zero], ref[zero])    # 1 / sqrt(inf)
    finite = np.isfinite(ref) & ~zero
    rel = np.abs(ours[finite] - ref[finite]) / ref[finite]
    assert rel.max() < 4 * 2.0 ** -23, rel.max()   # a few ulp
