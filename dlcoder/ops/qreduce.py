"""The int8, uint8 (and int16) variants of AVERAGE_POOL_2D, MAX_POOL_2D, MEAN, SUM,
REDUCE_MAX, REDUCE_MIN and SOFTMAX; kernels in qreduce.h (SOFTMAX: qsoftmax.h), constants
from dlcoder/quant.py.

Which TFLite kernel runs, in the pip build (found by experiment against its interpreter):

- pools: the raw values, whatever the tensors' quantizations (TFLite does not compare
  them); the average rounds half away from zero over the window's cells inside the
  input; the fused activation clamps in the output's domain.
- MEAN of int8/uint8 NHWC over axes 1 and 2 (two values, any order, negative or not)
  with keep_dims: the optimized kernel (multiplier of in_scale / (count * out_scale) computed in float32, a
  float-rounded bias, the final shift rounding half up on the channels of its 16-wide
  vector loop, half away from zero on the rest). Every other MEAN (any other axes,
  keep_dims false, int16): QuantizedMeanOrSum, the multiplier of in/out scale with 1/count
  folded in by integer division, whether or not the quantizations are equal (int16 over
  H and W with keep_dims, TFLite's reference 4-D kernel, computes the same).
- SUM: in float32, round(sum * (in_scale/out_scale) - in_zp * scale * count) + out_zp,
  whether or not the quantizations are equal.
- REDUCE_MAX / REDUCE_MIN: the raw values; TFLite rejects differing quantizations.
- SOFTMAX 8-bit: the table kernel (a 256-entry float32 table of glibc expf values).
"""
from __future__ import annotations

import numpy as np

from dlcoder import quant as Q
from dlcoder.ir import CTYPES
from dlcoder.ops import register
from dlcoder.ops import _quant as QP
from dlcoder.ops._common import const_ints, require_const, shape, spatial_padding
from dlcoder.ops.reduce import _reduce_params, reduced_axes

_KINDS = ("int8", "uint8", "int16")


def _ct(g, t) -> str:
    return CTYPES[g.tensors[t].dtype]


# ---- AVERAGE_POOL_2D / MAX_POOL_2D -------------------------------------------------------
def _check_pool(node, g):
    return QP.activation(node) or QP.per_tensor(g, node, (0,))


def _pool_q(node, g, e, is_max: bool) -> str:
    x, y = node.inputs[0], node.outputs[0]
    n, ih, iw, c = shape(g, x)
    _, oh, ow, _ = shape(g, y)
    kh, kw = node.attrs["filter_height"], node.attrs["filter_width"]
    top, left = spatial_padding(node, ih, iw, oh, ow, kh, kw)
    _, lo, hi = QP.out_range(node, g)
    params = QP.struct(e, "QPoolParams", {
        "batch": n, "in_h": ih, "in_w": iw, "channels": c, "out_h": oh, "out_w": ow,
        "k_h": kh, "k_w": kw, "stride_h": node.attrs["stride_h"], "stride_w": node.attrs["stride_w"],
        "pad_top": top, "pad_left": left, "lo": lo, "hi": hi})
    return (f"dlcoder_rt::pool_q<{_ct(g, x)}, {'true' if is_max else 'false'}>({params}, "
            f"{e.src(x)}, {e.dst(y)});")


# ---- reductions ----------------------------------------------------------------------------
_SUM_LIMIT = 2**31 - 1


def _count(node, g) -> int:
    s = shape(g, node.inputs[0])
    return int(np.prod([s[a] for a in reduced_axes(node, g)], dtype=np.int64))


def _hw_mean(node, g) -> bool:
    """TFLite's optimized 8-bit MEAN runs: 4-D, keep_dims, the axis input two values that
    are 1 and 2 (or -3 and -2)."""
    axes = [a % 4 for a in const_ints(g, node.inputs[1], "axis", node)]
    return (g.tensors[node.inputs[0]].dtype in ("int8", "uint8") and len(shape(g, node.inputs[0])) == 4
            and bool(node.attrs.get("keep_dims")) and sorted(axes) == [1, 2] and len(axes) == 2)


def _max_abs(dtype: str, zp: int) -> int:
    lo, hi = Q.INT_RANGE[dtype]
    return max(abs(lo - zp), abs(hi - zp))


def _check_reduce(node, g):
    why = require_const(1)(node, g) or QP.per_tensor(g, node, (0,))
    if why:
        return why
    x, y = node.inputs[0], node.outputs[0]
    dt = g.tensors[x].dtype
    (si, zi), (so, zo) = QP.params(g, x), QP.params(g, y)
    if dt == "int16" and (zi != 0 or zo != 0):
        return "int16 reductions take zero points 0 (TFLite requires it)"
    if node.op in ("REDUCE_MAX", "REDUCE_MIN"):
        if (np.float32(si), zi) != (np.float32(so), zo):
            return (f"{node.op} input and output quantizations differ (scale {si:g} zp {zi} vs "
                    f"{so:g} zp {zo}); TFLite requires them equal")
        return None
    count = _count(node, g)
    lo, hi = Q.INT_RANGE[dt]
    if count * max(abs(lo), abs(hi)) > _SUM_LIMIT // 2:
        return f"{count} elements per output overflow the int32 sum"
    if node.op == "MEAN":
        if _hw_mean(node, g):
            m, s, _ = Q.mean_4d_params(si, zi, so, zo, count)
            bound = count * max(abs(lo), abs(hi))
        else:
            m, s = Q.mean_multiplier(si, so, count)
            bound = count * _max_abs(dt, zi)
        if s > 0 and bound * 2**s > _SUM_LIMIT:
            return (f"the rescaled sum overflows int32 (scale ratio {si / so:g} over {count} "
                    "elements); TFLite's result there is not reproduced")
    return None


def _reduce_scratch(node, g) -> int:
    return 4 * max(g.tensors[node.outputs[0]].size, 1)


def _mean_q(node, g, e) -> str:
    x, y = node.inputs[0], node.outputs[0]
    (si, zi), (so, zo) = QP.params(g, x), QP.params(g, y)
    lo, hi = Q.INT_RANGE[g.tensors[y].dtype]
    count = _count(node, g)
    if _hw_mean(node, g):
        n, h, w, c = shape(g, x)
        m, s, bias = Q.mean_4d_params(si, zi, so, zo, count)
        params = QP.struct(e, "QMean4DParams", {
            "batch": n, "count": h * w, "channels": c, "vec_channels": c // 16 * 16,
            "multiplier": m, "shift": s, "bias": bias, "lo": lo, "hi": hi})
        return f"dlcoder_rt::mean_hw_q<{_ct(g, x)}>({params}, {e.src(x)}, {e.dst(y)});"
    m, s = Q.mean_multiplier(si, so, count)
    q = QP.struct(e, "QMeanParams", {"offset": count * zi, "multiplier": m, "shift": s,
                                     "out_zp": zo, "lo": lo, "hi": hi})
    return (f"dlcoder_rt::mean_q<{_ct(g, x)}>({_reduce_params(node, g, e)}, {q}, {e.src(x)}, "
            f"{e.dst(y)}, {e.scratch('int32_t')});")


def _sum_q(node, g, e) -> str:
    x, y = node.inputs[0], node.outputs[0]
    (si, zi), (so, zo) = QP.params(g, x), QP.params(g, y)
    lo, hi = Q.INT_RANGE[g.tensors[y].dtype]
    scale, bias = Q.sum_float_params(si, zi, so, _count(node, g))
    q = QP.struct(e, "QSumParams", {"scale": scale, "bias": bias, "out_zp": zo, "lo": lo, "hi": hi})
    return (f"dlcoder_rt::sum_q<{_ct(g, x)}>({_reduce_params(node, g, e)}, {q}, {e.src(x)}, "
            f"{e.dst(y)}, {e.scratch('int32_t')});")


def _minmax_q(node, g, e) -> str:
    reducer = "MaxReducer" if node.op == "REDUCE_MAX" else "MinReducer"
    return (f"dlcoder_rt::reduce({_reduce_params(node, g, e)}, {e.src(node.inputs[0])}, "
            f"{e.dst(node.outputs[0])}, dlcoder_rt::{reducer}{{}});")


# ---- SOFTMAX -------------------------------------------------------------------------------
_SOFTMAX_OUT_ZP = {"int8": -128, "uint8": 0}


def _check_softmax(node, g):
    why = QP.per_tensor(g, node, (0,))
    if why:
        return why
    x, y = node.inputs[0], node.outputs[0]
    dt, odt = g.tensors[x].dtype, g.tensors[y].dtype
    if dt not in _SOFTMAX_OUT_ZP or odt != dt:
        return f"SOFTMAX from {dt} to {odt} is not supported (only int8 to int8 and uint8 to uint8)"
    so, zo = QP.params(g, y)
    if np.float32(so) != np.float32(1 / 256) or zo != _SOFTMAX_OUT_ZP[dt]:
        return (f"{dt} SOFTMAX output quantization scale {so:g} zp {zo}: TFLite takes only "
                f"scale 1/256 and zero point {_SOFTMAX_OUT_ZP[dt]}")
    si, _ = QP.params(g, x)
    if not np.isfinite(np.float32(si) * np.float32(node.attrs.get("beta", 1.0))):
        return "the input scale times beta is not finite"
    return None


def _softmax_q(node, g, e) -> str:
    x, y = node.inputs[0], node.outputs[0]
    s = shape(g, x)
    depth = s[-1]
    si, _ = QP.params(g, x)
    so, zo = QP.params(g, y)
    lo, hi = Q.INT_RANGE[g.tensors[y].dtype]
    table = Q.softmax_table(si, float(node.attrs.get("beta", 1.0)))
    params = QP.struct(e, "QSoftmaxParams", {
        "rows": g.tensors[x].size // max(depth, 1), "depth": depth, "out_scale": float(np.float32(so)),
        "out_zp": zo, "lo": lo, "hi": hi})
    return (f"dlcoder_rt::softmax_q<{_ct(g, x)}>({params}, {e.src(x)}, {e.dst(y)}, "
            f"{e.weights(table)});")


_DTYPES = frozenset({"int8", "uint8", "int16", "int32"})
for _kind in _KINDS:
    register("AVERAGE_POOL_2D", header="qreduce.h", dtypes=_DTYPES, check=_check_pool,
             variant=_kind)(lambda node, g, e: _pool_q(node, g, e, False))
    register("MAX_POOL_2D", header="qreduce.h", dtypes=_DTYPES, check=_check_pool,
             variant=_kind)(lambda node, g, e: _pool_q(node, g, e, True))
    register("MEAN", header="qreduce.h", dtypes=_DTYPES, check=_check_reduce, scratch=_reduce_scratch,
             variant=_kind)(_mean_q)
    register("SUM", header="qreduce.h", dtypes=_DTYPES, check=_check_reduce, scratch=_reduce_scratch,
             variant=_kind)(_sum_q)
    register("REDUCE_MAX", "REDUCE_MIN", header="qreduce.h", dtypes=_DTYPES, check=_check_reduce,
             variant=_kind)(_minmax_q)
for _kind in ("int8", "uint8"):
    register("SOFTMAX", header="qsoftmax.h", dtypes=_DTYPES, check=_check_softmax,
             variant=_kind)(_softmax_q)
