"""DEQUANTIZE (per-tensor affine or float16 -> float32) and QUANTIZE (float32 -> per-tensor
affine); kernels in dequantize.h.

DEQUANTIZE of a constant is folded earlier by passes/fold_dequantize.py; the kernel here
handles computed inputs (e.g. an int8 or float16 graph input). Both fold with the same
numpy `dequantize` (dlcoder/quant.py).
"""
from __future__ import annotations

import numpy as np

from dlcoder.codegen import cgen, runtime_facts
from dlcoder.ops import Fusion, register
from dlcoder.ops._shapes import OUT, arity, dtypes_by, dtypes_in, in_shape
from dlcoder import quant as Q
from dlcoder.quant import dequantize
from dlcoder.sparse import densify

_QUANTIZED = frozenset({"int8", "uint8", "int16"})


def _per_tensor(t) -> dict:
    q = t.quant
    return {"scale": q.scale[0], "zero_point": q.zero_point[0]}


def _check_affine(t, what: str):
    if t.quant is None:
        return f"the {what} has no quantization parameters"
    if t.quant.per_channel:
        return f"per-channel quantization of the {what} is not supported"
    return None


def _check_dequantize(node, g):
    t = g.tensors[node.inputs[0]]
    if g.tensors[node.outputs[0]].dtype != "float32":
        return "the output must be float32"
    if t.dtype == "float16":
        return None
    if t.dtype not in _QUANTIZED:
        return f"{t.dtype} input is not supported"
    return _check_affine(t, "input")


def _dequantize_shape(node, g):
    """Same shape; a quantized or float16 input, a float32 output (which TFLite gives it)."""
    arity(node, 1)
    dtypes_in(g, node, _QUANTIZED | {"float16"}, positions=(0,))
    dtypes_in(g, node, {"float32"}, positions=(), outputs=(0,))
    return [in_shape(g, node, 0)]


def _dequantize_eval(node, g, values):
    if values[0] is None:
        return None
    t = g.tensors[node.inputs[0]]
    if t.dtype != "float16" and t.quant is not None and not t.quant.per_channel:
        return [Q.dequantize_values(values[0], t.quant.scale[0], t.quant.zero_point[0], AFFINE_BLOCK)]
    return [dequantize(t.replace(data=np.asarray(values[0])))]


def _decode(node, g):
    """The float32 value of a DEQUANTIZE of constant weights (sparse ones densified
    first): float16 and quantized weights become float32 at generation time whatever
    the growth (passes/fold_dequantize.py)."""
    src, out = g.tensors[node.inputs[0]], g.tensors[node.outputs[0]]
    if not src.is_const:
        return None
    if src.sparsity is not None:
        src = src.replace(data=densify(src.data, src.sparsity, out.shape))
    return dequantize(src.replace(data=src.data.reshape(out.shape)))


@register("DEQUANTIZE", header="dequantize.h", dtypes=_QUANTIZED | {"float16", "float32"},
          check=_check_dequantize, evaluate=_dequantize_eval, shape=_dequantize_shape,
          fusion=Fusion(decode=_decode))
def dequantize_op(node, g, e):
    x, out = node.inputs[0], node.outputs[0]
    t = g.tensors[x]
    n = t.size
    if t.dtype == "float16":
        return f"dlcoder_rt::dequantize_f16({n}, {e.src(x)}, {e.dst(out)});"
    params = e.param("dlcoder_rt::AffineParams", cgen.struct_init("AffineParams", _per_tensor(t)))
    return f"dlcoder_rt::dequantize_affine({n}, {e.src(x)}, {e.dst(out)}, {params});"


# QUANTIZE: the input's dtype -> the output's (TFLite's quantize Prepare): float32 is
# quantized, the integer types requantized.
_QUANTIZE_DTYPES = {
    "float32": {OUT: {"int8", "uint8", "int16"}},
    "int8": {OUT: {"int8", "uint8", "int16"}},
    "uint8": {OUT: {"int8", "uint8", "int16"}},
    "int16": {OUT: {"int8", "int16", "int32"}},
    "int32": {OUT: {"int8", "int16"}},
}


def _quantize_shape(node, g):
    """Same shape; the dtypes of _QUANTIZE_DTYPES."""
    arity(node, 1)
    dtypes_by(g, node, _QUANTIZE_DTYPES)
    return [in_shape(g, node, 0)]


def _check_quantize(node, g):
    x = g.tensors[node.inputs[0]]
    if x.dtype != "float32" and x.dtype not in _QUANTIZED:
        return f"requantizing {x.dtype} input is not supported"
    if x.dtype != "float32":
        why = _check_affine(x, "input")
        if why:
            return why
    return _check_affine(g.tensors[node.outputs[0]], "output")


# the vector loop's block of QUANTIZE and DEQUANTIZE (float <-> integer) in TFLite's kernels
AFFINE_BLOCK = runtime_facts.constant("kAffineBlock")
# the vector loop's block of requantization (integer -> integer), by (input, output) dtype;
# a pair without one runs TFLite's scalar loop only
REQUANT_BLOCK = {("int8", "int8"): 16, ("uint8", "uint8"): 16, ("int8", "uint8"): 16, ("uint8", "int8"): 16}


def _requantize_params(g, x: int, out: int) -> dict:
    """TFLite's quantize Prepare for integer input: one multiplier for in scale / out scale;
    `vec`: the elements its vector loop takes."""
    (si, zi), (so, zo) = (_per_tensor(g.tensors[t]).values() for t in (x, out))
    mult, shift = Q.quantize_multiplier(float(np.float64(si) / np.float64(so)))
    block = REQUANT_BLOCK.get((g.tensors[x].dtype, g.tensors[out].dtype), 0)
    vec = g.tensors[x].size // block * block if block else 0
    return {"in_zp": zi, "out_zp": zo, "multiplier": mult, "shift": shift, "vec": vec}


def requantize_values(x: np.ndarray, p: dict, dtype: str) -> np.ndarray:
    """QUANTIZE of integer input in numpy, as the kernel requantize_q computes it."""
    return Q.requantize_values(x, dtype=dtype, **p)


def quantize_values(x: np.ndarray, scale: float, zero_point: int, dtype: str) -> np.ndarray:
    """TFLite's builtin QUANTIZE of float32 in numpy (see quantize_affine in dequantize.h)."""
    return Q.quantize_values(x, scale, zero_point, dtype, AFFINE_BLOCK)


def _quantize_eval(node, g, values):
    if values[0] is None:
        return None
    out = g.tensors[node.outputs[0]]
    if g.tensors[node.inputs[0]].dtype != "float32":
        return [requantize_values(values[0], _requantize_params(g, node.inputs[0], node.outputs[0]), out.dtype)]
    return [quantize_values(values[0], **_per_tensor(out), dtype=out.dtype)]


@register("QUANTIZE", header="dequantize.h", dtypes=_QUANTIZED | {"float32"},
          check=_check_quantize, evaluate=_quantize_eval, shape=_quantize_shape)
def quantize_op(node, g, e):
    x, out = node.inputs[0], node.outputs[0]
    if g.tensors[x].dtype != "float32":
        params = e.param("dlcoder_rt::RequantizeParams",
                         cgen.struct_init("RequantizeParams", _requantize_params(g, x, out)))
        return f"dlcoder_rt::requantize_q({g.tensors[x].size}, {e.src(x)}, {e.dst(out)}, {params});"
    params = e.param("dlcoder_rt::AffineParams", cgen.struct_init("AffineParams", _per_tensor(g.tensors[out])))
    return (f"dlcoder_rt::quantize_affine({g.tensors[x].size}, {e.src(x)}, {e.dst(out)}, "
            f"{params});")
