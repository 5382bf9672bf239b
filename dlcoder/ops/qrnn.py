"""Quantized UNIDIRECTIONAL_SEQUENCE_LSTM.

hybrid (dynamic-range: float32 sequence, states, biases and layer-norm coefficients, int8
weights with one scale per tensor): TFLite's EvalHybrid, kernel in qrnn.h. Each step
quantizes the input row and the output-state row (and, with a projection, the hidden row)
to int8 on the fly, symmetrically or, with the option asymmetric_quantize_inputs,
asymmetrically; the products are int32 and go back to float by row scale * weight scale.
Generation time concatenates the gates' weights, computes their row sums (for the
asymmetric zero point) and the peepholes' float values (int8 * scale, as TFLite recovers
them). Inputs and shape rule as the float op's (ops/rnn.py).

int8 (TFLite's full-integer "8x8_16" LSTM): not supported. Its Prepare reads the
quantization of five intermediate tensors named by the operator's `intermediates` field,
which the IR does not carry (the frontend reads inputs and outputs only), so the gate
scales cannot be known; the variant below names that instead of computing something else.
"""
from __future__ import annotations

import numpy as np

from dlcoder import quant as Q
from dlcoder.codegen import cgen
from dlcoder.ops import register
from dlcoder.ops import _quant as QP
from dlcoder.ops import rnn as R

# the cell gate's activation -> HybridLstmParams.act
_ACTS = {"TANH": 1, "RELU": 2, "RELU6": 3, "RELU_N1_TO_1": 4}
_FLOAT_POSITIONS = R._BIASES + R._NORMS


def _int8_weights(node, g, i: int):
    """Why the weights at input i are not int8 with one positive scale and zero point 0."""
    t = g.tensors[node.inputs[i]]
    role = R._ROLES[i]
    if t.dtype != "int8":
        return (f"the {role} are {t.dtype}: the dynamic-range LSTM takes int8 weights "
                "(every weight tensor int8)")
    q = t.quant
    if q is None:
        return f"the int8 {role} have no quantization parameters"
    scales = q.scales()
    if scales.size != 1 and np.any(scales != scales[0]):
        return (f"the {role} are quantized per channel ({scales.size} scales): TFLite's "
                "dynamic-range LSTM reads one scale per weight tensor")
    if not scales[0] > 0:
        return f"the {role} have quantization scale {scales[0]:g}"
    if np.any(q.zero_points() != 0):
        return f"the int8 {role} have a nonzero zero point (TFLite takes symmetric weights)"
    return None


def _check_hybrid(node, g):
    why = R._check(node, g)
    if why is not None:
        return why
    act = node.attrs.get("fused_activation_function", "NONE")
    if act not in _ACTS:
        # NONE: TFLite's hybrid kernel leaves a scratch buffer unwritten and reads it
        return f"activation {act} is not supported by the dynamic-range LSTM"
    for i in R._WEIGHTS + R._PEEPHOLES:
        if R._input(node, i) >= 0:
            why = _int8_weights(node, g, i)
            if why is not None:
                return why
    for i in _FLOAT_POSITIONS + (R._H0, R._C0):
        t = R._input(node, i)
        if t >= 0 and g.tensors[t].dtype != "float32":
            what = R._ROLES.get(i, "the output state" if i == R._H0 else "the cell state")
            return f"{what} are {g.tensors[t].dtype}: the dynamic-range LSTM takes them float32"
    return None


def _scratch_hybrid(node, g) -> int:
    lay = R._layout(node, g)
    n, gates = lay["n_cell"], 3 if lay["cifg"] else 4
    floats = gates * n + n + lay["batch"] * (lay["n_output"] + n)
    return floats * 4 + max(lay["n_input"], lay["n_output"], n)


def _stack(node, g, first: int):
    """(weights [G][n_cell][k] int8, scales [G], row sums [G][n_cell]) of the gates'
    weights starting at input `first`."""
    ts = R._gates(node, first)
    w = np.stack([g.const(t) for t in ts]).astype(np.int8)
    scales = np.array([Q.hybrid_weight_scales(g.tensors[t], 1)[0] for t in ts], np.float32)
    sums = np.concatenate([Q.hybrid_row_sums(g.const(t)) for t in ts])
    return w, scales, sums


def _hybrid(node, g, e):
    lay = R._layout(node, g)
    n = lay["n_cell"]
    params = QP.struct(e, "HybridLstmParams", {
        "batch": lay["batch"], "steps": lay["steps"], "n_input": lay["n_input"], "n_cell": n,
        "n_output": lay["n_output"], "time_major": int(lay["time_major"]), "cifg": int(lay["cifg"]),
        "asymmetric": int(bool(node.attrs.get("asymmetric_quantize_inputs", False))),
        "act": _ACTS[node.attrs.get("fused_activation_function", "NONE")],
        "cell_clip": float(node.attrs.get("cell_clip", 0.0)),
        "proj_clip": float(node.attrs.get("proj_clip", 0.0))})
    wx, wx_scale, wx_sums = _stack(node, g, R._INPUT_W)
    wh, wh_scale, wh_sums = _stack(node, g, R._RECURRENT_W)
    bias = np.concatenate([g.const(t).ravel() for t in R._gates(node, R._BIAS)]).astype(np.float32)
    peephole = norm = proj = proj_scale = proj_sums = proj_bias = "nullptr"
    if R._input(node, R._PEEPHOLE + 1) >= 0:
        rows = []
        for j in range(3):   # TFLite recovers them as float(w) * scale, in float32
            t = R._input(node, R._PEEPHOLE + j)
            if t < 0:
                rows.append(np.zeros(n, np.float32))
            else:
                s = np.float32(Q.hybrid_weight_scales(g.tensors[t], 1)[0])
                rows.append((g.const(t).astype(np.float32) * s).astype(np.float32).ravel())
        peephole = e.weights(np.concatenate(rows).astype(np.float32))
    if R._input(node, R._NORM + 1) >= 0:
        norm = e.weights(np.concatenate([g.const(t).ravel() for t in R._gates(node, R._NORM)])
                         .astype(np.float32))
    if R._input(node, R._PROJ_W) >= 0:
        t = node.inputs[R._PROJ_W]
        pw = g.const(t).astype(np.int8)
        proj = e.weights(pw)
        proj_scale = e.weights(Q.hybrid_weight_scales(g.tensors[t], 1)[:1].astype(np.float32))
        proj_sums = e.weights(Q.hybrid_row_sums(pw))
        if R._input(node, R._PROJ_B) >= 0:
            proj_bias = e.weights(g.const(node.inputs[R._PROJ_B]).astype(np.float32).ravel())
    weights = cgen.struct_init("HybridLstmWeights", {
        "wx": e.weights(wx), "wx_scale": e.weights(wx_scale), "wx_sums": e.weights(wx_sums),
        "wh": e.weights(wh), "wh_scale": e.weights(wh_scale), "wh_sums": e.weights(wh_sums),
        "peephole": peephole, "bias": e.weights(bias), "norm": norm, "proj": proj,
        "proj_scale": proj_scale, "proj_sums": proj_sums, "proj_bias": proj_bias,
        "h0": e.src(node.inputs[R._H0]), "c0": e.src(node.inputs[R._C0])})
    return (f"dlcoder_rt::unidirectional_lstm_hybrid({params}, dlcoder_rt::HybridLstmWeights{weights}, "
            f"{e.src(node.inputs[0])}, {e.dst(node.outputs[0])}, {e.scratch('float')});")


def _check_int8(node, g):
    return ("the full-integer (int8 activations, int16 cell state) LSTM is not supported: "
            "TFLite's kernel takes its gate scales from the operator's intermediate tensors, "
            "which dlcoder does not read")


def _never(node, g, e):   # _check_int8 rejects every node before emission
    raise AssertionError("the int8 LSTM is rejected by its check")


_DTYPES = frozenset({"float32", "int8"})
register("UNIDIRECTIONAL_SEQUENCE_LSTM", header="qrnn.h", dtypes=_DTYPES, check=_check_hybrid,
         scratch=_scratch_hybrid, variant="hybrid")(_hybrid)
register("UNIDIRECTIONAL_SEQUENCE_LSTM", header="qrnn.h", dtypes=frozenset({"int8", "int16", "int32"}),
         check=_check_int8, variant="int8")(_never)
