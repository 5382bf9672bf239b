"""Quantized UNIDIRECTIONAL_SEQUENCE_LSTM.

hybrid (dynamic-range: float32 sequence, states, biases and layer-norm coefficients, int8
weights with one scale per tensor): TFLite's EvalHybrid, kernel in qrnn.h. Each step
quantizes the input row and the output-state row (and, with a projection, the hidden row)
to int8 on the fly, symmetrically or, with the option asymmetric_quantize_inputs,
asymmetrically; the products are int32 and go back to float by row scale * weight scale.
Generation time concatenates the gates' weights, computes their row sums (for the
asymmetric zero point) and the peepholes' float values (int8 * scale, as TFLite recovers
them). The products are those of TFLite's x86 MatrixBatchVectorMultiplyAccumulate, as the
hybrid FULLY_CONNECTED's (ops/qhybrid.py): row sums by ReductionSumVector
(quant.hybrid_sse_row_sums, int16 lanes that wrap on long rows of one sign), the zero
point's share off in int32, and for weights holding -128 (quant.hybrid_sse_dot_differs) the
SSSE3 dot product that takes -128 against a negative input as +128 (qhybrid.h
hybrid_dot_sse); so for the input-to-gate, recurrent and projection weights alike.
Inputs and shape rule as the float op's (ops/rnn.py).

int8 (TFLite's full-integer "8x8_16" LSTM, EvalInteger8x8_16): int8 sequence, weights,
output state and output, int16 cell state (power-of-two scale) and peepholes, int32 biases;
the hidden state's scale and zero point come from the fifth of the operator's intermediates
(node.attrs["intermediates"]), the gates are Q3.12. Generation time folds the zero points
into the biases and computes every multiplier (dlcoder/quant.py, lstm_*); kernel in qrnn.h.
The int8 output state starts at its zero point (TFLite resets an int8 variable tensor to
it). Layer normalisation is rejected (not reproduced), and so are peepholes with a
projection to another size (TFLite's kernel walks n_output peephole cells).
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
    """(weights [G][n_cell][k] int8, scales [G], row sums [G][n_cell] as TFLite's x86
    kernel computes them, whether its SSE dot product differs) of the gates' weights
    starting at input `first`."""
    ts = R._gates(node, first)
    w = np.stack([g.const(t) for t in ts]).astype(np.int8)
    scales = np.array([Q.hybrid_weight_scales(g.tensors[t], 1)[0] for t in ts], np.float32)
    sums = np.concatenate([Q.hybrid_sse_row_sums(g.const(t).astype(np.int8)) for t in ts])
    return w, scales, sums, Q.hybrid_sse_dot_differs(w.reshape(-1, w.shape[-1]))


def _hybrid(node, g, e):
    lay = R._layout(node, g)
    n = lay["n_cell"]
    wx, wx_scale, wx_sums, wx_sse = _stack(node, g, R._INPUT_W)
    wh, wh_scale, wh_sums, wh_sse = _stack(node, g, R._RECURRENT_W)
    proj_w = R._input(node, R._PROJ_W)
    proj_sse = proj_w >= 0 and Q.hybrid_sse_dot_differs(g.const(proj_w).astype(np.int8))
    params = QP.struct(e, "HybridLstmParams", {
        "batch": lay["batch"], "steps": lay["steps"], "n_input": lay["n_input"], "n_cell": n,
        "n_output": lay["n_output"], "time_major": int(lay["time_major"]), "cifg": int(lay["cifg"]),
        "asymmetric": int(bool(node.attrs.get("asymmetric_quantize_inputs", False))),
        "act": _ACTS[node.attrs.get("fused_activation_function", "NONE")],
        "cell_clip": float(node.attrs.get("cell_clip", 0.0)),
        "proj_clip": float(node.attrs.get("proj_clip", 0.0)),
        "wx_sse": int(wx_sse), "wh_sse": int(wh_sse), "proj_sse": int(proj_sse)})
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
        proj_sums = e.weights(Q.hybrid_sse_row_sums(pw))
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


def _per_tensor_scale(g, t: int, what: str):
    """(scale, zero point) of a per-tensor quantized tensor, or a reason it is not one."""
    q = g.tensors[t].quant
    if q is None:
        return f"{what} have no quantization parameters"
    if q.per_channel:
        return (f"{what} are quantized per channel ({len(q.scale)} scales): TFLite's integer "
                "LSTM reads one scale per tensor")
    if not q.scale[0] > 0:
        return f"{what} have quantization scale {q.scale[0]:g}"
    return float(q.scale[0]), int(q.zero_point[0])


def _int8_dtypes(node, g):
    want = R._DTYPES["int8"]
    for i in range(1, len(node.inputs)):
        t = R._input(node, i)
        if t >= 0 and i in want and g.tensors[t].dtype not in want[i]:
            what = R._ROLES.get(i, "the output state" if i == R._H0 else "the cell state")
            return (f"{what} are {g.tensors[t].dtype}; the integer LSTM takes "
                    f"{'/'.join(sorted(want[i]))}")
    out = g.tensors[node.outputs[0]].dtype
    return None if out == "int8" else f"the output is {out}; the integer LSTM's is int8"


def _check_int8(node, g):
    why = R._check(node, g)
    if why is not None:
        return why
    why = _int8_dtypes(node, g)
    if why is not None:
        return why
    if R._input(node, R._NORM + 1) >= 0:
        return ("layer normalisation in the integer LSTM is not supported (TFLite's integer "
                "layer norm is not reproduced bit for bit here)")
    lay = R._layout(node, g)
    if R._input(node, R._PEEPHOLE + 1) >= 0 and lay["n_output"] != lay["n_cell"]:
        return ("peepholes with a projection to a different size: TFLite's integer kernel "
                "applies the peephole over n_output cells")
    inter = node.attrs.get("intermediates", ())
    if len(inter) != 5:
        return (f"the integer LSTM has {len(inter)} intermediate tensors; TFLite's kernel takes "
                "5 (the gates' and the hidden state's quantization)")
    named = [(0, "the input"), (R._H0, "the output state"), (R._C0, "the cell state")]
    named += [(i, f"the {R._ROLES[i]}") for i in R._WEIGHTS + R._PEEPHOLES
              if R._input(node, i) >= 0]
    for i, what in named:
        r = _per_tensor_scale(g, node.inputs[i], what)
        if isinstance(r, str):
            return r
    for t, what in ((inter[4], "the hidden intermediate"), (node.outputs[0], "the output")):
        r = _per_tensor_scale(g, t, what)
        if isinstance(r, str):
            return r
    cell_log2 = Q.lstm_cell_log2(g.tensors[node.inputs[R._C0]].quant.scale[0])
    if cell_log2 is None or not -15 <= cell_log2 <= -9:
        return ("the cell state's scale must be a power of two from 2^-15 to 2^-9 (TFLite's "
                "integer tanh of the cell state takes 0 to 6 integer bits)")
    return None


def _scratch_int8(node, g) -> int:
    lay = R._layout(node, g)
    n = lay["n_cell"]
    return 2 * (5 * n + lay["batch"] * (n + lay["n_output"]))


def _wrap32(v: np.ndarray) -> np.ndarray:
    return Q.wrap32(v).astype(np.int32)


def _int8(node, g, e):
    lay = R._layout(node, g)
    n, cifg = lay["n_cell"], lay["cifg"]
    scale = lambda t: _per_tensor_scale(g, t, "")   # noqa: E731 (checked)
    x_s, x_zp = scale(node.inputs[0])
    h_s, h_zp = scale(node.inputs[R._H0])
    cell_log2 = Q.lstm_cell_log2(g.tensors[node.inputs[R._C0]].quant.scale[0])
    inter = node.attrs["intermediates"]
    hid_s, hid_zp = scale(inter[4])
    gate_s = 2.0 ** -12   # Q3.12 gates (layer norm, rejected, would read intermediates 0-3)
    wx_ids, wh_ids = R._gates(node, R._INPUT_W), R._gates(node, R._RECURRENT_W)
    bias_ids = R._gates(node, R._BIAS)
    wx = [g.const(t).astype(np.int64) for t in wx_ids]
    wh = [g.const(t).astype(np.int64) for t in wh_ids]
    bx = [g.const(b).astype(np.int64).ravel() - x_zp * w.sum(1) for b, w in zip(bias_ids, wx)]
    bh = [-h_zp * w.sum(1) for w in wh]
    mults = [Q.lstm_gate_multiplier(scale(t)[0], x_s, gate_s) for t in wx_ids]
    mults += [Q.lstm_gate_multiplier(scale(t)[0], h_s, gate_s) for t in wh_ids]
    peephole = "nullptr"
    if R._input(node, R._PEEPHOLE + 1) >= 0:
        ps = [R._input(node, R._PEEPHOLE + j) for j in range(3)]
        ps = ps[1:] if cifg else ps
        peephole = e.weights(np.concatenate([g.const(t).astype(np.int16).ravel() for t in ps]))
        mults += [Q.lstm_peephole_multiplier(cell_log2, scale(t)[0], gate_s) for t in ps]
    proj = proj_bias = "nullptr"
    proj_mult = proj_shift = 0
    has_proj = R._input(node, R._PROJ_W) >= 0
    if has_proj:
        pw_t = node.inputs[R._PROJ_W]
        pw = g.const(pw_t).astype(np.int64)
        pb = (g.const(node.inputs[R._PROJ_B]).astype(np.int64).ravel()
              if R._input(node, R._PROJ_B) >= 0 else np.zeros(lay["n_output"], np.int64))
        # measured: with a projection TFLite subtracts the hidden zero point from the hidden
        # values and adds zero point * row sums to the bias (the two cancel); without one
        # the zero point is added (the output is the hidden state)
        proj = e.weights(pw.astype(np.int8))
        proj_bias = e.weights(_wrap32(pb + hid_zp * pw.sum(1)))
        proj_mult, proj_shift = Q.lstm_gate_multiplier(scale(pw_t)[0], hid_s, h_s)
    hid_mult, hid_shift = Q.lstm_hidden_multiplier(hid_s)
    out_s = scale(node.outputs[0])[0]
    c_s = float(g.tensors[node.inputs[R._C0]].quant.scale[0])
    params = QP.struct(e, "IntLstmParams", {
        "batch": lay["batch"], "steps": lay["steps"], "n_input": lay["n_input"], "n_cell": n,
        "n_output": lay["n_output"], "time_major": int(lay["time_major"]), "cifg": int(cifg),
        "cell_log2": cell_log2,
        "cell_clip": Q.lstm_quantized_clip(float(node.attrs.get("cell_clip", 0.0)), c_s, -32768, 32767),
        "proj_clip": Q.lstm_quantized_clip(float(node.attrs.get("proj_clip", 0.0)), out_s, -128, 127),
        "hidden_offset": -hid_zp if has_proj else hid_zp,
        "hidden_mult": hid_mult, "hidden_shift": hid_shift, "proj_mult": proj_mult,
        "proj_shift": proj_shift, "out_zp": h_zp, "h0": h_zp})
    weights = cgen.struct_init("IntLstmWeights", {
        "wx": e.weights(np.stack(wx).astype(np.int8)), "wh": e.weights(np.stack(wh).astype(np.int8)),
        "bx": e.weights(_wrap32(np.concatenate(bx))), "bh": e.weights(_wrap32(np.concatenate(bh))),
        "mult": e.array("int32_t", [m for m, _ in mults]),
        "shift": e.array("int32_t", [s for _, s in mults]),
        "peephole": peephole, "proj": proj, "proj_bias": proj_bias})
    return (f"dlcoder_rt::unidirectional_lstm_int8({params}, dlcoder_rt::IntLstmWeights{weights}, "
            f"{e.src(node.inputs[0])}, {e.dst(node.outputs[0])}, {e.scratch('int16_t')});")


_DTYPES = frozenset({"float32", "int8"})
register("UNIDIRECTIONAL_SEQUENCE_LSTM", header="qrnn.h", dtypes=_DTYPES, check=_check_hybrid,
         scratch=_scratch_hybrid, variant="hybrid")(_hybrid)
register("UNIDIRECTIONAL_SEQUENCE_LSTM", header="qrnn.h", dtypes=frozenset({"int8", "int16", "int32"}),
         check=_check_int8, scratch=_scratch_int8, variant="int8")(_int8)
