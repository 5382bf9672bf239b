"""Quantized pools, reductions and softmax (dlcoder/ops/qreduce.py) match TFLite byte for
byte, or refuse what TFLite rejects.

The models are tests/models/quantized_reduce/ (make_quantized_reduce_models.py says what
each pins down): several ops per model on inputs holding the dtype's extremes and the zero
point. Beside them, without a C++ compile: the softmax table (glibc's expf emulated in
dlcoder/quant.py) against the C library's expf, where Python's correctly rounded exp
differs.
"""
import ctypes
import ctypes.util
import json
import math

import numpy as np
import pytest

from dlcoder import compiler, quant as Q, verify as V
from dlcoder.errors import DlcoderError
from support import TESTS, load_npz_inputs, run_ours

HERE = TESTS / "models" / "quantized_reduce"
INDEX = json.loads((HERE / "index.json").read_text())
RUNS = sorted(c for c in INDEX if "rejects" not in INDEX[c])
REJECTED = sorted(c for c in INDEX if "rejects" in INDEX[c])


@pytest.mark.parametrize("case", RUNS)
def test_bytes_match_tflite(case, tmp_path):
    path = HERE / f"{case}.tflite"
    inputs = load_npz_inputs(HERE / f"{case}.npz", compiler.load_graph(str(path)))
    ours, _, _ = run_ours(path, inputs, tmp_path)
    refs, _ = V.reference_run(str(path), inputs)
    assert len(ours) == len(refs) > 1
    assert sum(len(np.unique(r)) > 2 for r in refs) >= len(refs) - 1, f"{case}: weak outputs"
    for k, (o, r) in enumerate(zip(ours, refs)):
        assert o.dtype == r.dtype and o.shape == r.shape, (case, k)
        diff = np.flatnonzero(o.ravel() != r.ravel())
        assert diff.size == 0, (f"{case} output {k}: {diff.size} of {r.size} differ, first at "
                                f"{diff[:5]}: ours {o.ravel()[diff[:5]]} tflite {r.ravel()[diff[:5]]}")


@pytest.mark.parametrize("case", REJECTED)
def test_what_tflite_rejects_is_refused(case):
    path = HERE / f"{case}.tflite"
    entry = INDEX[case]
    feeds = np.load(HERE / f"{case}.npz")
    with pytest.raises(RuntimeError, match=entry["rejects"]):
        V.reference_run(str(path), [feeds[f"input_{k}"] for k in range(len(feeds.files))])
    with pytest.raises(DlcoderError, match=entry["dlcoder"]):
        compiler.compile_graph(compiler.load_graph(str(path)), "m")


def test_expf_is_glibc():
    """quant.expf equals the C library's expf (glibc) on float32 values where the correctly
    rounded exp differs from it: the softmax tables depend on it."""
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    libm.expf.restype, libm.expf.argtypes = ctypes.c_float, [ctypes.c_float]
    rng = np.random.default_rng(0)
    xs = np.concatenate([-rng.uniform(0, 110, 40000), rng.uniform(-1, 1, 10000)]).astype(np.float32)
    where_exp_differs = 0
    for x in xs.tolist():
        c = libm.expf(x)
        assert Q.expf(x) == c, x
        where_exp_differs += float(np.float32(math.exp(x))) != c
    assert where_exp_differs > 5      # the test covers values where math.exp would fail
