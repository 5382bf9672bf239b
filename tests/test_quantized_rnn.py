"""Quantized UNIDIRECTIONAL_SEQUENCE_LSTM.

Dynamic-range ("hybrid": float sequence and states, int8 weights) gives TFLite's float
outputs bit for bit, on the hand-built models of tests/models/quantized_rnn/
(make_quantized_rnn_models.py): symmetric and asymmetric input quantization, batch-major
and time-major, CIFG, peepholes, projection, clipping, layer norm; 18 cells put the gate
rows off 16-byte alignment, where TFLite's logistic changes from Eigen's packet path to its
scalar path.

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
from dlcoder import compiler, verify as V
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
