"""The int8 and uint8 variants of the elementwise unary ops: LOGISTIC, TANH, GELU, ELU,
HARD_SWISH, RELU, RELU6, RELU_N1_TO_1, LEAKY_RELU, PRELU (constant alpha), ABS, NEG, RSQRT.

With 8-bit input and output, each of these is a function of one byte: its 256 results are
computed at generation time exactly as TFLite computes them (dlcoder/quant.py: the float
tables TFLite's Prepare fills, or its integer kernels emulated), and the kernel is a table
lookup (simd_lut.h: lookup_u8_simd; PRELU a table per alpha element, lookup_u8_channels_simd).
The evaluate hooks apply the same tables in numpy, so constant folding gives TFLite's bytes.

Which dtypes TFLite's builtin kernels take (ai-edge-litert 2.3.0): ELU, ABS, NEG and RSQRT
only int8 (NEG negates the raw int8 values, ignoring the quantization; RSQRT fails at run
time on an input below its zero point, where the table holds 127); the others int8 and
uint8. int16 is not done here: those nodes are rejected by dtype.
"""
from __future__ import annotations

import numpy as np

from dlcoder import quant as Q
from dlcoder.ir import CTYPES
from dlcoder.ops import register
from dlcoder.ops import _quant as QP

_FLOAT_LUT = ("LOGISTIC", "TANH", "GELU", "ELU")
_RELU = ("RELU", "RELU6", "RELU_N1_TO_1")
_BOTH = ("LOGISTIC", "TANH", "GELU", "HARD_SWISH", "LEAKY_RELU") + _RELU
_INT8_ONLY = ("ELU", "ABS", "NEG", "RSQRT")


def _qparams(g, t) -> tuple:
    scale, zp = QP.params(g, t)
    return float(scale), int(zp)


def table(node, g) -> np.ndarray:
    """The node's 256 output values, indexed by the input's byte."""
    x, y = node.inputs[0], node.outputs[0]
    dtype = g.tensors[x].dtype
    qi, qo = _qparams(g, x), _qparams(g, y)
    op = node.op
    if op in _FLOAT_LUT:
        return Q.float_lut(op, qi, qo, dtype, approximate=bool(node.attrs.get("approximate", False)))
    if op in _RELU:
        return Q.relu_table(op, qi, qo, dtype)
    if op == "LEAKY_RELU":
        return Q.leaky_relu_table(float(node.attrs.get("alpha", 0.2)), qi, qo, dtype)
    if op == "HARD_SWISH":
        return Q.hard_swish_table(qi, qo, dtype)
    if op == "ABS":
        return Q.abs_table(qi, qo)
    if op == "RSQRT":
        return Q.rsqrt_table(qi, qo)
    if op == "NEG":         # TFLite negates the int8 values as integers (wrapping -128)
        return (-Q.byte_values("int8")).astype(np.int8)
    raise ValueError(op)


def _check(node, g):
    why = QP.per_tensor(g, node, (0,))
    if why:
        return why
    x, y = node.inputs[0], node.outputs[0]
    if g.tensors[x].dtype != g.tensors[y].dtype:
        return f"input {g.tensors[x].dtype} and output {g.tensors[y].dtype} differ"
    if node.op == "LOGISTIC" and np.float32(QP.params(g, y)[0]) != np.float32(1 / 256):
        return (f"output scale {QP.params(g, y)[0]:g}: TFLite's quantized LOGISTIC takes only "
                f"the output scale 1/256")
    if node.op == "HARD_SWISH" and Q.hard_swish_params(_qparams(g, x), _qparams(g, y))["out_exp"] > 0:
        return ("output scale at most the input scale / 128: TFLite's quantized HARD_SWISH "
                "rejects it (output multiplier exponent > 0)")
    return None


def _evaluate(node, g, values):
    if values[0] is None:
        return None
    x = np.asarray(values[0])
    return [table(node, g)[x.view(np.uint8)]]


def _emit(node, g, e):
    x, y = node.inputs[0], node.outputs[0]
    ct = CTYPES[g.tensors[x].dtype]
    return (f"dlcoder_rt::lookup_u8_simd<{ct}>({g.tensors[y].size}, {e.src(x)}, {e.dst(y)}, "
            f"{e.weights(table(node, g))});")


for _kind in ("int8", "uint8"):
    for _op in _BOTH + (_INT8_ONLY if _kind == "int8" else ()):
        register(_op, header="simd_lut.h", dtypes=frozenset({_kind}), check=_check,
                 evaluate=_evaluate, variant=_kind)(_emit)


# ---- PRELU: a table per alpha element ---------------------------------------------------
def _alpha_block(node, g):
    """(channels, inner) of alpha's broadcast over the input: its elements lie along one
    block of the input's dimensions, `inner` input elements after it; None if alpha's
    dimensions other than 1 are not one contiguous block."""
    xs = list(g.tensors[node.inputs[0]].shape)
    a = [1] * (len(xs) - len(g.tensors[node.inputs[1]].shape)) + list(g.tensors[node.inputs[1]].shape)
    if len(a) != len(xs):
        return None
    real = [k for k, d in enumerate(a) if d != 1]
    if not real:
        return 1, 1
    lo, hi = real[0], real[-1]
    if any(a[k] != xs[k] for k in range(lo, hi + 1)):
        return None
    return int(np.prod(xs[lo:hi + 1])), int(np.prod(xs[hi + 1:], dtype=np.int64))


def _check_prelu(node, g):
    why = QP.per_tensor(g, node, (0, 1))
    if why:
        return why
    if not g.tensors[node.inputs[1]].is_const:
        return "alpha must be a constant on quantized data"
    if _alpha_block(node, g) is None:
        return (f"alpha of shape {list(g.tensors[node.inputs[1]].shape)} broadcasts over more "
                f"than one block of the input's dimensions {list(g.tensors[node.inputs[0]].shape)}")
    return None


def prelu_tables(node, g) -> np.ndarray:
    x, a, y = node.inputs[0], node.inputs[1], node.outputs[0]
    return Q.prelu_tables(g.const(a), _qparams(g, a), _qparams(g, x), _qparams(g, y),
                          g.tensors[x].dtype)


def _prelu_evaluate(node, g, values):
    if values[0] is None:
        return None
    x = np.asarray(values[0])
    channels, inner = _alpha_block(node, g)
    c = (np.arange(x.size) // inner) % channels
    return [prelu_tables(node, g)[c, x.view(np.uint8).ravel()].reshape(x.shape)]


def _prelu_emit(node, g, e):
    x, y = node.inputs[0], node.outputs[0]
    channels, inner = _alpha_block(node, g)
    ct = CTYPES[g.tensors[x].dtype]
    return (f"dlcoder_rt::lookup_u8_channels_simd<{ct}>({g.tensors[y].size}, {inner}, {channels}, "
            f"{e.src(x)}, {e.dst(y)}, {e.weights(prelu_tables(node, g))});")


for _kind in ("int8", "uint8"):
    register("PRELU", header="simd_lut.h", dtypes=frozenset({_kind}), check=_check_prelu,
             evaluate=_prelu_evaluate, variant=_kind)(_prelu_emit)
