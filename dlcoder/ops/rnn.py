"""UNIDIRECTIONAL_SEQUENCE_LSTM (float32), every option TFLite's float kernel has.

Inputs, as in TFLite: 0 the sequence; 1-4 input-to-{input, forget, cell, output} weights
[n_cell, n_input]; 5-8 recurrent-to-gate weights [n_cell, n_output]; 9-11 peephole weights
to the input, forget and output gates [n_cell]; 12-15 gate biases [n_cell]; 16 projection
weights [n_output, n_cell] and 17 its bias; 18 the output state and 19 the cell state
(variable tensors: the frontend gives them their initial value, see frontend/tflite.py);
20-23 layer-norm coefficients of the four gates. Absent optional inputs are -1: no input
gate weights means CIFG (the input gate is 1 - forget gate).

The gate weights are concatenated and packed at generation time into the GEMM panels of
one [n_in][G * n_cell] matrix per operand (G = 4 gates, 3 with CIFG); see rnn.h.
"""
from __future__ import annotations

import numpy as np

from dlcoder.codegen import cgen
from dlcoder.errors import UnsupportedError
from dlcoder.ops import register
from dlcoder.ops._common import shape
from dlcoder.ops import _shapes as S
from dlcoder.ops._gemm import pack_panels, pad_to_panels

# fused activation -> UnaryKind of the cell gate and of the cell state on output
_ACTS = {"NONE": "kNone", "TANH": "kTanh", "RELU": "kRelu", "RELU6": "kRelu6",
         "RELU_N1_TO_1": "kReluN1To1"}
_INPUT_W, _RECURRENT_W, _PEEPHOLE, _BIAS, _NORM = (1, 5, 9, 12, 20)
_PROJ_W, _PROJ_B, _H0, _C0 = 16, 17, 18, 19
# Time steps whose input-to-gate products are one GEMM (one pass over those weights).
# On the suite's text LSTM (64 inputs, 128 cells, 32 steps) 1 step takes 0.087 ms, 2 take
# 0.076, 4 or more 0.068; every step of the chunk holds G * n_cell floats of scratch, and
# at 2 the arena stays below TFLite Micro's (28 KB against 29 KB; 32 steps: 86 KB).
CHUNK_STEPS = 2


def _input(node, i: int) -> int:
    return node.inputs[i] if i < len(node.inputs) else -1


def _layout(node, g):
    x = shape(g, node.inputs[0])
    time_major = bool(node.attrs.get("time_major", False))
    steps, batch = (x[0], x[1]) if time_major else (x[1], x[0])
    n_cell = shape(g, node.inputs[_INPUT_W + 1])[0]
    n_output = shape(g, node.inputs[_RECURRENT_W + 1])[1]
    cifg = _input(node, _INPUT_W) < 0
    return dict(batch=batch, steps=steps, n_input=x[2], n_cell=n_cell, n_output=n_output,
                time_major=time_major, cifg=cifg)


def _gates(node, first: int) -> list:
    """Tensor ids of the gate inputs starting at `first` (input, forget, cell, output),
    the input gate's dropped under CIFG."""
    ids = [_input(node, first + j) for j in range(4)]
    return ids[1:] if _input(node, _INPUT_W) < 0 else ids


def _check(node, g):
    if len(node.inputs) < 20:
        return f"{len(node.inputs)} inputs (TFLite's LSTM has 20 or 24)"
    if len(shape(g, node.inputs[0])) != 3:
        return "the input must be 3-D"
    if node.attrs.get("diagonal_recurrent_tensors"):
        return "diagonal recurrent weights are not supported"
    act = node.attrs.get("fused_activation_function", "NONE")
    if act not in _ACTS:
        return f"activation {act} is not supported"
    consts = [i for i in range(1, len(node.inputs)) if i not in (_H0, _C0)]
    for i in consts:
        if _input(node, i) >= 0 and g.const(node.inputs[i]) is None:
            return f"input {i} (a weight) must be a constant"
    for i in (_H0, _C0):
        if _input(node, i) < 0 or g.const(node.inputs[i]) is None:
            return f"input {i} (a state) must be a variable or constant tensor"
    lay = _layout(node, g)
    cifg = lay["cifg"]
    wanted = [_RECURRENT_W + 1, _RECURRENT_W + 2, _RECURRENT_W + 3, _BIAS + 1, _BIAS + 2, _BIAS + 3]
    if not cifg:
        wanted += [_RECURRENT_W, _BIAS]
    if any(_input(node, i) < 0 for i in wanted):
        return "missing gate weights or biases"
    peep = [_input(node, _PEEPHOLE + j) >= 0 for j in range(3)]
    if any(peep) and not (peep[1] and peep[2] and (cifg or peep[0])):
        return "peephole weights must be given for every gate"
    norm = [_input(node, _NORM + j) >= 0 for j in range(4)]
    if any(norm) and not (all(norm[1:]) and (cifg or norm[0])):
        return "layer-norm coefficients must be given for every gate"
    if _input(node, _PROJ_B) >= 0 and _input(node, _PROJ_W) < 0:
        return "a projection bias without projection weights"
    out_shape = shape(g, node.outputs[0])
    want = ((lay["steps"], lay["batch"]) if lay["time_major"] else (lay["batch"], lay["steps"]))
    if tuple(out_shape) != want + (lay["n_output"],):
        return f"output shape {list(out_shape)} does not match the weights"
    return None


_GATES = ("input", "forget", "cell", "output")
# input position -> what it is, for messages
_ROLES = {**{_INPUT_W + j: f"input-to-{n} weights" for j, n in enumerate(_GATES)},
          **{_RECURRENT_W + j: f"recurrent-to-{n} weights" for j, n in enumerate(_GATES)},
          **{_PEEPHOLE + j: f"cell-to-{n} (peephole) weights"
             for j, n in enumerate(("input", "forget", "output"))},
          **{_BIAS + j: f"{n} gate bias" for j, n in enumerate(_GATES)},
          **{_NORM + j: f"{n} gate layer-norm coefficients" for j, n in enumerate(_GATES)},
          _PROJ_W: "projection weights", _PROJ_B: "projection bias"}

# The input's dtype -> the other tensors' (TFLite's Prepare). float32: the weights (all of
# one dtype, int8 or uint8 for the hybrid LSTM) and the peepholes like them, every other
# tensor float32. int8 (the integer LSTM): int16 peepholes, layer-norm coefficients and
# cell state, int32 biases, an int8 output state and output.
_WEIGHTS = tuple(range(_INPUT_W, _INPUT_W + 8)) + (_PROJ_W,)   # input and recurrent
_PEEPHOLES = tuple(range(_PEEPHOLE, _PEEPHOLE + 3))
_BIASES = tuple(range(_BIAS, _BIAS + 4)) + (_PROJ_B,)
_NORMS = tuple(range(_NORM, _NORM + 4))


def _row(weights, peepholes, biases, norms, h, c, out) -> dict:
    return {**{i: weights for i in _WEIGHTS}, **{i: peepholes for i in _PEEPHOLES},
            **{i: biases for i in _BIASES}, **{i: norms for i in _NORMS},
            _H0: h, _C0: c, S.OUT: out}


_F32, _HYBRID = {"float32"}, {"float32", "int8", "uint8"}
_DTYPES = {"float32": _row(_HYBRID, _HYBRID, _F32, _F32, _F32, _F32, _F32),
           "int8": _row({"int8"}, {"int16"}, {"int32"}, {"int16"}, {"int8"}, {"int16"}, {"int8"})}


# required: the input, the forget / cell / output gates' weights and biases, the states
_OPTIONAL = (_INPUT_W, _RECURRENT_W, _PEEPHOLE, _PEEPHOLE + 1, _PEEPHOLE + 2, _BIAS, _PROJ_W,
             _PROJ_B)


def _all_or_none(node, positions, what: str) -> bool:
    given = [_input(node, i) >= 0 for i in positions]
    if any(given) and not all(given):
        S.fail(f"{what} must be given together or not at all")
    return all(given)


def _shape(node, g):
    """TFLite's Prepare and CheckInputTensorDimensions: n_input from the input, n_cell from
    the input-to-output weights, n_output from the recurrent-to-output weights; every other
    weight, the states and the output follow from those. The dtypes of _DTYPES."""
    S.arity(node, (20, 24), optional=_OPTIONAL)
    if len(node.inputs) not in (20, 24):
        S.fail(f"has {len(node.inputs)} inputs, the op takes 20 or 24")
    S.activation(node)
    if node.attrs.get("diagonal_recurrent_tensors"):   # [n_cell] recurrent weights
        raise UnsupportedError("diagonal recurrent weights")
    for clip in ("cell_clip", "proj_clip"):
        if not node.attrs.get(clip, 0) >= 0:
            S.fail(f"{clip} {node.attrs[clip]} is negative")
    x = S.in_shape(g, node, 0)
    S.rank_between(x, 3, 3)
    batch, n_input = (x[1] if node.attrs.get("time_major") else x[0]), x[2]
    S.rank_between(S.in_shape(g, node, _INPUT_W + 3), 2, 2, _ROLES[_INPUT_W + 3])
    n_cell = S.in_shape(g, node, _INPUT_W + 3)[0]
    S.rank_between(S.in_shape(g, node, _RECURRENT_W + 3), 2, 2, _ROLES[_RECURRENT_W + 3])
    n_output = S.in_shape(g, node, _RECURRENT_W + 3)[1]
    want = {**{_INPUT_W + j: (n_cell, n_input) for j in range(4)},
            **{_RECURRENT_W + j: (n_cell, n_output) for j in range(4)},
            **{i: (n_cell,) for i in range(_PEEPHOLE, _PROJ_W)},
            **{i: (n_cell,) for i in range(_NORM, _NORM + 4)},
            _PROJ_W: (n_output, n_cell), _PROJ_B: (n_output,)}
    for i, s in want.items():
        if _input(node, i) >= 0 and tuple(S.in_shape(g, node, i)) != s:
            S.fail(f"{_ROLES[i]} of shape {list(S.in_shape(g, node, i))}, expected {list(s)}")
    _check_options(node, g)
    for i, n in ((_H0, n_output), (_C0, n_cell)):
        if g.tensors[node.inputs[i]].size != batch * n:
            S.fail(f"the {'output' if i == _H0 else 'cell'} state has "
                   f"{g.tensors[node.inputs[i]].size} values, not {batch} x {n}")
    if S.dtypes_by(g, node, _DTYPES) == "float32":
        S.same_dtype(g, node, inputs=_WEIGHTS + _PEEPHOLES, outputs=())
    return [tuple(x[:2]) + (n_output,)]


def _check_options(node, g):
    """Which optional inputs go together, as TFLite checks them: CIFG (no input gate)
    drops the input gate's weights, bias and layer-norm coefficients at once; peepholes are
    all or none (the input gate's may be left out under CIFG); a projection bias needs
    projection weights; the forget gate's layer-norm coefficients turn layer norm on."""
    cifg = not _all_or_none(node, (_INPUT_W, _RECURRENT_W), "the input gate's weights")
    if (_input(node, _BIAS) >= 0) == cifg:
        S.fail("the input gate bias must be given exactly when the input gate's weights are")
    ci, cf, co = (_input(node, _PEEPHOLE + j) >= 0 for j in range(3))
    if not ((cf and co and (ci or cifg)) or not (ci or cf or co)):
        S.fail("peephole weights must be given for every gate or for none")
    if _input(node, _PROJ_B) >= 0 and _input(node, _PROJ_W) < 0:
        S.fail("a projection bias without projection weights")
    if _input(node, _NORM + 1) >= 0:
        if (_input(node, _NORM) >= 0) == cifg:
            S.fail("the input gate's layer-norm coefficients must be given exactly when the "
                   "input gate's weights are")
        if _input(node, _NORM + 2) < 0 or _input(node, _NORM + 3) < 0:
            S.fail("layer-norm coefficients must be given for every gate")


def _chunk(node, g) -> int:
    return min(_layout(node, g)["steps"], CHUNK_STEPS)


def _scratch(node, g) -> int:
    lay = _layout(node, g)
    width = (3 if lay["cifg"] else 4) * lay["n_cell"]
    hidden = lay["batch"] * lay["n_cell"] * (2 if _input(node, _PROJ_W) >= 0 else 1)
    return (lay["batch"] * _chunk(node, g) * width + hidden) * 4


def _concat_packed(node, g, first: int) -> np.ndarray:
    """The gates' [n_cell, n_in] weights as one [n_in][G * n_cell] matrix, in panels."""
    return pack_panels(np.concatenate([g.const(t).T for t in _gates(node, first)], axis=1))


@register("UNIDIRECTIONAL_SEQUENCE_LSTM", header="rnn.h", check=_check, scratch=_scratch,
          shape=_shape)
def unidirectional_sequence_lstm(node, g, e):
    lay = _layout(node, g)
    n = lay["n_cell"]
    act = node.attrs.get("fused_activation_function", "NONE")
    params = e.param("dlcoder_rt::LstmParams", cgen.struct_init("LstmParams", {
        "batch": lay["batch"], "steps": lay["steps"], "n_input": lay["n_input"], "n_cell": n,
        "n_output": lay["n_output"], "chunk": _chunk(node, g), "time_major": cgen.literal(lay["time_major"], "bool"),
        "cifg": cgen.literal(lay["cifg"], "bool"), "act": "dlcoder_rt::UnaryKind::" + _ACTS[act],
        "cell_clip": cgen.literal(float(node.attrs.get("cell_clip", 0.0)), "float"),
        "proj_clip": cgen.literal(float(node.attrs.get("proj_clip", 0.0)), "float")}))
    biases = np.concatenate([g.const(t).ravel() for t in _gates(node, _BIAS)]).astype(np.float32)
    layer_norm = _input(node, _NORM + 1) >= 0
    peephole = "nullptr"
    if _input(node, _PEEPHOLE + 1) >= 0:
        rows = [np.zeros(n, np.float32) if _input(node, _PEEPHOLE + j) < 0
                else g.const(node.inputs[_PEEPHOLE + j]).ravel() for j in range(3)]
        peephole = e.weights(np.concatenate(rows).astype(np.float32))
    if layer_norm:   # the gate biases come after the normalisation, not in the GEMM
        coefs = np.concatenate([g.const(t).ravel() for t in _gates(node, _NORM)]).astype(np.float32)
        norm, norm_bias, bias = e.weights(coefs), e.weights(biases), "nullptr"
    else:
        norm, norm_bias, bias = "nullptr", "nullptr", e.weights(pad_to_panels(biases))
    proj = proj_bias = "nullptr"
    if _input(node, _PROJ_W) >= 0:
        proj = e.weights(pack_panels(g.const(node.inputs[_PROJ_W]).T))
        if _input(node, _PROJ_B) >= 0:
            proj_bias = e.weights(pad_to_panels(g.const(node.inputs[_PROJ_B])))
    weights = cgen.struct_init("LstmWeights", {
        "wx": e.weights(_concat_packed(node, g, _INPUT_W)), "wh": e.weights(_concat_packed(node, g, _RECURRENT_W)),
        "bias": bias, "peephole": peephole, "norm": norm, "norm_bias": norm_bias, "proj": proj,
        "proj_bias": proj_bias, "h0": e.src(node.inputs[_H0]), "c0": e.src(node.inputs[_C0])})
    return (f"dlcoder_rt::unidirectional_lstm_f32(par, {params}, dlcoder_rt::LstmWeights{weights}, "
            f"{e.src(node.inputs[0])}, {e.dst(node.outputs[0])}, {e.scratch('float')});")


# Made by passes/fuse_lstm_cell.py: inputs z [.., 4n] (the four gates' pre-activations),
# c_prev [.., n] and a bias [4n] added to z (or -1); outputs c and h [.., n]; attrs["gates"]:
# where the input, forget, cell and output gates start in a row of z. Unit j of c and h is
# written after unit j of c_prev is read, so c may take c_prev's storage (a loop's state).
@register("DLCODER_LSTM_CELL", header="simd.h", in_place=True)
def lstm_cell(node, g, e):
    z, c_prev, bias = node.inputs
    n = shape(g, c_prev)[-1]
    rows = g.tensors[c_prev].size // n
    at = e.array("int32_t", [int(k) * n for k in node.attrs["gates"]])
    return (f"dlcoder_rt::lstm_cell_f32({rows}, {n}, {at}, {e.src(z)}, {e.src(bias)}, {e.src(c_prev)}, "
            f"{e.dst(node.outputs[0])}, {e.dst(node.outputs[1])});")
