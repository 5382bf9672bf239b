"""Dynamic-range ("hybrid") FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D (float32
activations, constant int8 weights) give TFLite's float outputs bit for bit.

The models are tests/models/quantized_hybrid/ (make_quantized_hybrid_models.py): converter
output (asymmetric input quantization, per-channel weights) and hand-built cases of
TFLite's symmetric paths. Every node of interest must compile as the hybrid variant (not
folded to float weights), so a pass here is the int8 arithmetic's.
"""
import json
import sys

import numpy as np
import pytest

import dlcoder.ops as ops
from dlcoder import compiler, quant as Q, verify as V
from dlcoder.errors import DlcoderError
from support import TESTS, load_npz_inputs, run_ours

sys.path.insert(0, str(TESTS / "models"))
from make_quantized_hybrid_models import QHandModel  # noqa: E402

HERE = TESTS / "models" / "quantized_hybrid"
CASES = sorted(json.loads((HERE / "index.json").read_text()))
HYBRID_OPS = ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D")


@pytest.mark.parametrize("case", CASES)
def test_hybrid_matches_tflite_exactly(case, tmp_path):
    path = HERE / f"{case}.tflite"
    g0 = compiler.load_graph(str(path))
    hybrid = [n for n in g0.nodes if n.op in HYBRID_OPS and ops.kind(n, g0) == "hybrid"]
    assert hybrid, f"{case}: no dynamic-range node: the model tests nothing"
    _, g = compiler.compile_graph(g0, "m")
    assert sum(ops.kind(n, g) == "hybrid" for n in g.nodes) == len(hybrid), \
        f"{case}: a hybrid node was rewritten to something else"
    inputs = load_npz_inputs(HERE / f"{case}.npz", g0)
    ours, _, _ = run_ours(path, inputs, tmp_path)
    refs, _ = V.reference_run(str(path), inputs)
    for o, r in zip(ours, refs):
        assert o.shape == r.shape and o.dtype == r.dtype
        diff = np.abs(o.astype(np.float64) - r)
        assert o.tobytes() == r.tobytes(), (f"{case}: {int((o != r).sum())} of {r.size} differ, "
                                             f"by up to {diff.max():.3g}")


def test_quantize_rows_is_what_the_kernel_takes(tmp_path):
    """quant.hybrid_quantize_rows, the numpy statement of the input quantization, against
    TFLite through a one-unit FULLY_CONNECTED per input value: weight 1 at that value's
    position, scale 1, so each output is q * input scale (and - zp * 1 asymmetrically)."""
    rng = np.random.default_rng(7)
    n = 24
    x = np.stack([rng.standard_normal(n) * 3 + 1, rng.uniform(0, 5, n), -rng.uniform(0, 5, n),
                  np.zeros(n), (rng.integers(0, 255, n) * 0.5 + 0.25)]).astype(np.float32)
    for asymmetric in (False, True):
        m = QHandModel()
        xi = m.input(list(x.shape))
        w = m.qconst(np.eye(n, dtype=np.int8), np.ones(n, np.float32), 0)
        y = m.output(m.tensor(list(x.shape)))
        m.op("FULLY_CONNECTED", [xi, w], [y], "FullyConnectedOptions",
             AsymmetricQuantizeInputs=asymmetric)
        p = tmp_path / f"eye_{asymmetric}.tflite"
        p.write_bytes(m.build())
        ref = V.reference_run(str(p), [x])[0][0]
        q, s, zp = Q.hybrid_quantize_rows(x, asymmetric)
        want = (q.astype(np.int32) - zp[:, None]).astype(np.float32) * s[:, None]
        np.testing.assert_array_equal(want, ref)


def _dw_model(per_channel: bool) -> bytes:
    m = QHandModel()
    x = m.input([1, 5, 5, 4])
    scales = np.array([0.01, 0.02, 0.03, 0.04], np.float32) if per_channel else 0.01
    w = m.qconst(np.ones((1, 3, 3, 4), np.int8), scales, 3)
    y = m.output(m.tensor([1, 5, 5, 4]))
    m.op("DEPTHWISE_CONV_2D", [x, w, m.const(np.zeros(4, np.float32))], [y], "DepthwiseConv2DOptions",
         Padding=0, StrideW=1, StrideH=1, DepthMultiplier=1, DilationWFactor=1, DilationHFactor=1)
    return m.build()


def _conv_model(dilation: int) -> bytes:
    m = QHandModel()
    x = m.input([1, 9, 9, 4])
    w = m.qconst(np.ones((3, 3, 3, 4), np.int8), np.array([0.01, 0.02, 0.03], np.float32), 0)
    y = m.output(m.tensor([1, 9, 9, 3]))
    m.op("CONV_2D", [x, w, m.const(np.zeros(3, np.float32))], [y], "Conv2DOptions", Padding=0,
         StrideW=1, StrideH=1, DilationWFactor=dilation, DilationHFactor=dilation)
    return m.build()


@pytest.mark.parametrize("build, why", [
    (lambda: _dw_model(False), "needs one scale per output channel"),
    (lambda: _conv_model(2), "dilated CONV_2D with per-channel dynamic-range weights"),
])
def test_refused(build, why, tmp_path):
    p = tmp_path / "m.tflite"
    p.write_bytes(build())
    with pytest.raises(DlcoderError, match=why):
        compiler.compile_graph(compiler.load_graph(str(p)), "m")


def test_refusal_models_are_otherwise_accepted(tmp_path):
    """The refused models above differ from accepted ones only in what is refused."""
    for data in (_dw_model(True), _conv_model(1)):
        p = tmp_path / "ok.tflite"
        p.write_bytes(data)
        compiler.compile_graph(compiler.load_graph(str(p)), "m")
