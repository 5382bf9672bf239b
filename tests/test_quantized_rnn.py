"""Quantized UNIDIRECTIONAL_SEQUENCE_LSTM.

Dynamic-range ("hybrid": float sequence and states, int8 weights) gives TFLite's float
outputs bit for bit, on the hand-built models of tests/models/quantized_rnn/
(make_quantized_rnn_models.py): symmetric and asymmetric input quantization, batch-major
and time-major, CIFG, peepholes, projection, clipping, layer norm; 18 cells put the gate
rows off 16-byte alignment, where TFLite's logistic changes from Eigen's packet path to its
scalar path. The full-integer LSTM is rejected by name.
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
CASES = sorted(json.loads((HERE / "index.json").read_text()))
LSTM = "UNIDIRECTIONAL_SEQUENCE_LSTM"


def test_cases_are_listed():
    assert len(CASES) >= 5, CASES


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


def _int8_lstm() -> bytes:
    """A full-integer (8x8_16) LSTM as TFLite's integer kernel takes it: int8 sequence and
    weights, int32 biases, int16 cell state."""
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
    ins += [h, c] + [-1] * 4
    out = m.tensor((batch, steps, n), np.int8)
    m.tensors[out]["quant"] = (1 / 128, 0)
    m.output(out)
    m.op(LSTM, ins, [out], "UnidirectionalSequenceLSTMOptions", version=3,
         FusedActivationFunction=4, TimeMajor=False)
    return m.build()


def test_full_integer_lstm_is_rejected_by_name(tmp_path):
    path = tmp_path / "int8_lstm.tflite"
    path.write_bytes(_int8_lstm())
    g = compiler.load_graph(str(path))
    assert [ops.kind(n, g) for n in g.nodes] == ["int8"]
    with pytest.raises(UnsupportedError, match="full-integer .*intermediate tensors"):
        compiler.compile_graph(g, "m")
