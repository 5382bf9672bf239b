"""Quantized UNIDIRECTIONAL_SEQUENCE_LSTM.

Dynamic-range ("hybrid": float sequence and states, int8 weights) gives TFLite's float
outputs bit for bit, on the hand-built models of tests/models/quantized_rnn/
(make_quantized_rnn_models.py): symmetric and asymmetric input quantization, batch-major
and time-major, CIFG, peepholes, projection, clipping, layer norm; 18 cells put the gate
rows off 16-byte alignment, where TFLite's logistic changes from Eigen's packet path to its
scalar path. Hand-built cases in this file add TFLite's x86 SSE arithmetic: row sums that
wrap in int16 lanes on long rows of one sign, and weights -128 against negative inputs, in
the input-to-gate, recurrent and projection products.

The full-integer ("8x8_16") LSTM gives TFLite's int8 outputs byte for byte on the int8_*
models (basic, CIFG with peepholes, projection with clipping, odd scales): gates requantized
half away from zero (TFLite's portable tensor_utils), gemmlowp's int16 sigmoid and tanh, the
int8 output state starting at its zero point. Layer normalisation and peepholes over a
projection of another size are rejected by name.
"""
import json
import sys

import numpy as np
import pytest

import dlcoder.ops as ops
from dlcoder import compiler, quant as Q, verify as V
from dlcoder.errors import UnsupportedError
from dlcoder.ir import Quant
from support import TESTS, load_npz_inputs, run_ours

sys.path.insert(0, str(TESTS / "models"))
from op_hand import HandModel  # noqa: E402

HERE = TESTS / "models" / "quantized_rnn"
ALL_CASES = sorted(json.loads((HERE / "index.json").read_text()))
CASES = [c for c in ALL_CASES if c.startswith("hybrid_")]
INT8_CASES = [c for c in ALL_CASES if c.startswith("int8_")]
LSTM = "UNIDIRECTIONAL_SEQUENCE_LSTM"


def test_cases_are_listed():
    assert len(CASES) >= 5 and len(INT8_CASES) >= 5, ALL_CASES


@pytest.mark.parametrize("case", CASES)
def test_hybrid_lstm_matches_tflite_exactly(case, tmp_path):
    path = HERE / f"{case}.tflite"
    g = compiler.load_graph(str(path))
    assert [ops.kind(n, g) for n in g.nodes if n.op == LSTM] == ["hybrid"], case
    inputs = load_npz_inputs(HERE / f"{case}.npz", g)
    ours, _, _ = run_ours(path, inputs, tmp_path)
    refs, _ = V.reference_run(str(path), inputs)
    assert len(ours) == len(refs) == 1
    o, r = ours[0], refs[0]
    assert o.shape == r.shape and o.dtype == r.dtype == np.float32
    assert np.abs(r).max() > 1e-3, f"{case}: a trivial reference output"
    assert o.tobytes() == r.tobytes(), (
        f"{case}: {int((o != r).sum())} of {r.size} differ, by up to {np.abs(o - r).max():.3g}")


def _with_weight_quant(case, quant):
    g = compiler.load_graph(str(HERE / f"{case}.tflite"))
    node = next(n for n in g.nodes if n.op == LSTM)
    w = node.inputs[2]   # input-to-forget weights
    tensors = list(g.tensors)
    tensors[w] = tensors[w].replace(quant=quant)
    return g.replace(tensors=tuple(tensors))


def test_hybrid_per_channel_weights_are_rejected():
    n_cell = compiler.load_graph(str(HERE / "hybrid_basic_asym.tflite")).tensors[2].shape[0]
    scales = tuple(float(s) for s in np.linspace(0.01, 0.02, n_cell))
    g = _with_weight_quant("hybrid_basic_asym", Quant(scale=scales, zero_point=(0,) * n_cell, axis=0))
    with pytest.raises(UnsupportedError, match="per channel"):
        compiler.compile_graph(g, "m")


def test_hybrid_nonzero_weight_zero_point_is_rejected():
    g = _with_weight_quant("hybrid_basic_asym", Quant(scale=(0.01,), zero_point=(3,), axis=0))
    with pytest.raises(UnsupportedError, match="nonzero zero point"):
        compiler.compile_graph(g, "m")


@pytest.mark.parametrize("case", INT8_CASES)
def test_int8_lstm_matches_tflite_exactly(case, tmp_path):
    path = HERE / f"{case}.tflite"
    g = compiler.load_graph(str(path))
    assert [ops.kind(n, g) for n in g.nodes if n.op == LSTM] == ["int8"], case
    inputs = load_npz_inputs(HERE / f"{case}.npz", g)
    ours, _, _ = run_ours(path, inputs, tmp_path)
    refs, _ = V.reference_run(str(path), inputs)
    assert len(ours) == len(refs) == 1
    o, r = ours[0], refs[0]
    assert o.shape == r.shape and o.dtype == r.dtype == np.int8
    assert len(np.unique(r)) > 16, f"{case}: a trivial reference output"
    assert o.tobytes() == r.tobytes(), f"{case}: {int((o != r).sum())} of {r.size} bytes differ"


def _int8_lstm(layer_norm=False, intermediates=5) -> bytes:
    """A full-integer (8x8_16) LSTM as TFLite's integer kernel takes it: int8 sequence and
    weights, int32 biases, int16 cell state, five intermediates."""
    rng = np.random.default_rng(0)
    batch, steps, n_in, n = 1, 3, 4, 8
    m = HandModel()
    ins = [m.input((batch, steps, n_in), np.int8, quant=(0.05, 0))]
    for k in range(8):
        cols = n_in if k < 4 else n
        ins.append(m.const(rng.integers(-127, 128, (n, cols)).astype(np.int8), quant=(0.01, 0)))
    ins += [-1] * 3
    ins += [m.const(np.zeros(n, np.int32), quant=(0.0005, 0)) for _ in range(4)]
    ins += [-1, -1]
    h, c = m.variable((batch, n), np.int8), m.variable((batch, n), np.int16)
    m.tensors[h]["quant"], m.tensors[c]["quant"] = (1 / 128, 0), (2.0 ** -11, 0)
    ins += [h, c]
    ins += ([m.const(np.full(n, 20000, np.int16), quant=(1e-4, 0)) for _ in range(4)]
            if layer_norm else [-1] * 4)
    inter = [m.tensor((1,), np.int16) for _ in range(4)] + [m.tensor((1,), np.int8)]
    for t in inter[:4]:
        m.tensors[t]["quant"] = (2.0 ** -12, 0)
    m.tensors[inter[4]]["quant"] = (1 / 128, 0)
    out = m.tensor((batch, steps, n), np.int8)
    m.tensors[out]["quant"] = (1 / 128, 0)
    m.output(out)
    m.op(LSTM, ins, [out], "UnidirectionalSequenceLSTMOptions", version=3,
         intermediates=inter[:intermediates], FusedActivationFunction=4, TimeMajor=False)
    return m.build()


def test_int8_lstm_layer_norm_is_rejected_by_name(tmp_path):
    path = tmp_path / "int8_lstm_ln.tflite"
    path.write_bytes(_int8_lstm(layer_norm=True))
    g = compiler.load_graph(str(path))
    assert [ops.kind(n, g) for n in g.nodes] == ["int8"]
    with pytest.raises(UnsupportedError, match="layer normalisation in the integer LSTM"):
        compiler.compile_graph(g, "m")


def test_int8_lstm_without_five_intermediates_is_rejected(tmp_path):
    path = tmp_path / "int8_lstm_3.tflite"
    path.write_bytes(_int8_lstm(intermediates=3))
    g = compiler.load_graph(str(path))
    assert g.nodes[0].attrs["intermediates"] and len(g.nodes[0].attrs["intermediates"]) == 3
    with pytest.raises(UnsupportedError, match="3 intermediate tensors"):
        compiler.compile_graph(g, "m")


def test_int8_lstm_small_model_matches_tflite(tmp_path):
    """The plain model the rejection tests vary, compiled and run (a zero bias, zero points
    0): the writer's intermediates reach TFLite and the frontend alike."""
    path = tmp_path / "int8_lstm.tflite"
    path.write_bytes(_int8_lstm())
    g = compiler.load_graph(str(path))
    x = np.random.default_rng(3).integers(-128, 128, (1, 3, 4)).astype(np.int8)
    ours, _, _ = run_ours(path, [x], tmp_path)
    refs, _ = V.reference_run(str(path), [x])
    assert len(np.unique(refs[0])) > 4, "a trivial reference output"
    assert ours[0].tobytes() == refs[0].tobytes()
    assert len(g.nodes[0].attrs["intermediates"]) == 5


# ---- TFLite's x86 SSE arithmetic in the dynamic-range LSTM -------------------------------
# Every product of EvalHybrid (input-to-gate, recurrent, projection) is the x86
# MatrixBatchVectorMultiplyAccumulate of the hybrid FULLY_CONNECTED (tests/test_quantized_hybrid.py):
# row sums of ReductionSumVector, int16 lanes that wrap on long rows of one sign
# (Q.hybrid_sse_row_sums; they matter with asymmetric inputs, whose zero point is nonzero),
# and the SSSE3 dot product that takes a weight -128 against a negative input as +128 in
# whole blocks of 16 (qhybrid.h hybrid_dot_sse), symmetric and asymmetric alike.
def _hybrid_lstm(wx, wh, scales, asymmetric, proj=None, proj_bias=None, batch=2, steps=3):
    """A dynamic-range LSTM (no CIFG, peepholes or layer norm, RELU_N1_TO_1) of the given
    int8 gate weights wx [4][n_cell][n_input], wh [4][n_cell][n_output], projection
    [n_output][n_cell]; scales (input-to-gate, recurrent, projection)."""
    n_cell, n_in = wx[0].shape
    n_out = wh[0].shape[1]
    m = HandModel()
    ins = [m.input((batch, steps, n_in))]
    ins += [m.const(np.asarray(w, np.int8), quant=(float(scales[0]), 0)) for w in wx]
    ins += [m.const(np.asarray(w, np.int8), quant=(float(scales[1]), 0)) for w in wh]
    ins += [-1] * 3
    ins += [m.const(np.full(n_cell, 1.0 if g == 1 else 0.0, np.float32)) for g in range(4)]
    ins.append(-1 if proj is None else m.const(np.asarray(proj, np.int8), quant=(float(scales[2]), 0)))
    ins.append(-1 if proj_bias is None else m.const(np.asarray(proj_bias, np.float32)))
    ins += [m.variable((batch, n_out)), m.variable((batch, n_cell))] + [-1] * 4
    out = m.output(m.tensor((batch, steps, n_out)))
    m.op(LSTM, ins, [out], "UnidirectionalSequenceLSTMOptions", version=3, FusedActivationFunction=4,
         TimeMajor=False, AsymmetricQuantizeInputs=asymmetric)
    return m.build()


def _lstm_exact(data: bytes, x: np.ndarray, tmp_path):
    path = tmp_path / "lstm.tflite"
    path.write_bytes(data)
    g = compiler.load_graph(str(path))
    assert [ops.kind(n, g) for n in g.nodes] == ["hybrid"]
    o = run_ours(path, [x], tmp_path)[0][0]
    r = V.reference_run(str(path), [x])[0][0]
    assert np.abs(r).max() > 1e-3, "a trivial reference output"
    assert o.tobytes() == r.tobytes(), (
        f"{int((o != r).sum())} of {r.size} differ, by up to {np.abs(o - r).max():.3g}")


def _lstm_one_sign(shape, sign):
    """Weights 63 (127 in the last 8 of half the rows) times sign: row sums that pass int16
    in ReductionSumVector's lanes."""
    w = np.full(shape, 63 * sign, np.int8)
    w[: shape[0] // 2, -8:] = 127 * sign
    assert (Q.hybrid_sse_row_sums(w) != Q.hybrid_row_sums(w)).all()
    return w


def _small(rng, shape):
    return rng.integers(-127, 128, shape).astype(np.int8)


# ("input", 1, False): symmetric, the zero point 0 takes no row sum (a control: it held before)
@pytest.mark.parametrize("where, sign, asymmetric", [
    ("input", 1, True), ("input", -1, True), ("input", 1, False),
    ("recurrent", -1, True), ("projection", 1, True)])
def test_hybrid_lstm_long_one_sign_rows(where, sign, asymmetric, tmp_path):
    rng = np.random.default_rng(7)
    k = 4168
    n_in, n_cell, n_out = (k, 4, 4) if where == "input" else (5, 4, k) if where == "recurrent" else (5, k, 6)
    if where == "input":     # each gate's pre-activation about 1
        wx = [_lstm_one_sign((n_cell, k), sign if g % 2 else -sign) for g in range(4)]
        scales = (2e-6, 0.01, 0.01)
    else:
        wx = [_small(rng, (n_cell, n_in)) for _ in range(4)]
        scales = (0.01, 2e-6 if where == "recurrent" else 0.004, 2e-6 if where == "projection" else 0.01)
    wh = ([_lstm_one_sign((n_cell, k), sign if g % 2 else -sign) for g in range(4)] if where == "recurrent"
          else [_small(rng, (n_cell, n_out)) for _ in range(4)])
    proj = proj_bias = None
    if where == "recurrent":   # a projection 4 -> 4168 whose bias keeps the output state one-signed
        proj, proj_bias = _small(rng, (k, n_cell)), np.full(k, 0.5, np.float32)
        scales = scales[:2] + (1e-3,)
    elif where == "projection":
        proj, proj_bias = _lstm_one_sign((n_out, k), sign), np.linspace(-0.5, 0.5, n_out)
    x = rng.uniform(0.1, 2.0, (2, 3, n_in)).astype(np.float32)
    x[1] = -x[1]      # rows of one sign: the zero point at either end
    _lstm_exact(_hybrid_lstm(wx, wh, scales, asymmetric, proj, proj_bias), x, tmp_path)


@pytest.mark.parametrize("where", ["input", "recurrent", "projection"])
@pytest.mark.parametrize("asymmetric", [True, False])
def test_hybrid_lstm_weights_minus_128(where, asymmetric, tmp_path):
    """Weights -128 (every third) in rows of 20 to 40: whole blocks of 16 and a tail."""
    rng = np.random.default_rng(11)
    n_in, n_cell, n_out = {"input": (40, 5, 5), "recurrent": (5, 8, 20), "projection": (5, 36, 6)}[where]

    def w(shape, minus_128):
        v = rng.integers(-128, 128, shape).astype(np.int8) if minus_128 else _small(rng, shape)
        if minus_128:
            v[:, ::3] = -128
            assert Q.hybrid_sse_dot_differs(v)
        return v
    wx = [w((n_cell, n_in), where == "input") for _ in range(4)]
    wh = [w((n_cell, n_out), where == "recurrent") for _ in range(4)]
    proj = w((n_out, n_cell), where == "projection") if where != "input" else None
    x = (rng.standard_normal((2, 3, n_in)) * 2 - 0.5).astype(np.float32)
    scales = tuple(0.001 if where == name else 0.01 for name in ("input", "recurrent", "projection"))
    _lstm_exact(_hybrid_lstm(wx, wh, scales, asymmetric, proj, None), x, tmp_path)
