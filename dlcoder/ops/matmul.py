"""FULLY_CONNECTED and BATCH_MATMUL (float32)."""
from __future__ import annotations

import numpy as np

from dlcoder.codegen import cgen
from dlcoder.ops import Fusion, register
from dlcoder.errors import UnsupportedError
from dlcoder.ops._common import (MAX_DIMS, bind_slope, broadcast_strides, check_activation, clamp_init,
                                 post_init, post_statement, residual, shape, slope_init, strides,
                                 transposed_strides, with_residual)
from dlcoder.ops._gemm import PANEL, depth_arg, packed_weights, padded_bias, panels
from dlcoder.ops._shapes import (OUT, activation, arity, bias_size, broadcast, dtypes_by, fail,
                                 in_shape, rank_at_least, rank_between)


def _check_fc(node, g):
    if node.attrs.get("weights_format", 0) != 0:
        return "shuffled weights format is not supported"
    return check_activation(node, g)


# The input's dtype -> the weights', the bias's and the output's (TFLite's fully_connected
# CheckTypes). A float32 input with int8 or uint8 weights is the hybrid (dynamic-range) FC.
_QUANTIZED_FC = {1: {"int8", "uint8"}, 2: {"int32", "int64"}, OUT: {"int8", "uint8", "int16"}}
_FC_DTYPES = {
    "float32": {1: {"float32", "int8", "uint8"}, 2: {"float32"}, OUT: {"float32"}},
    "int8": _QUANTIZED_FC, "uint8": _QUANTIZED_FC,
    "int16": {**_QUANTIZED_FC, 1: {"int8", "uint8", "int16"}},
}
# BATCH_MATMUL: lhs's dtype -> rhs's and the output's. TFLite's Prepare takes float32 with
# int8 (hybrid) or two alike, and does not check the output, which its kernels write as
# float32 for float32 lhs, int8 or int32 for int8, int16 for int16.
_BATCH_MATMUL_DTYPES = {
    "float32": {1: {"float32", "int8"}, OUT: {"float32"}},
    "int8": {1: {"int8"}, OUT: {"int8", "int32"}},
    "int16": {1: {"int16"}, OUT: {"int16"}},
}


def _fc_shape(node, g):
    """TFLite's fully_connected Prepare: weights [units, depth]; the input is read as rows
    of depth values, the output is [rows, units] or, with keep_num_dims, the input's shape
    with units for its last dim. The shuffled format's second output is a workspace."""
    fmt = node.attrs.get("weights_format", 0)
    arity(node, (2, 3), 1 if fmt == 0 else 2)
    activation(node)
    if fmt != 0:
        raise UnsupportedError(f"weights format {fmt} (shuffled)")
    x, w = in_shape(g, node, 0), in_shape(g, node, 1)
    rank_between(w, 2, 2, "weights")
    units, depth = w
    size = int(np.prod(x, dtype=np.int64))
    if depth < 1 or size % depth:
        fail(f"the input's {size} values do not make rows of the weights' {depth}")
    bias_size(g, node, 2, units)
    dtypes_by(g, node, _FC_DTYPES)
    if not node.attrs.get("keep_num_dims", False):
        return [(size // depth, units)]
    rank_at_least(x, 1)
    if x[-1] != depth:
        fail(f"with keep_num_dims the input's last dim {x[-1]} must be the weights' {depth}")
    return [tuple(x[:-1]) + (units,)]


def _fuse_residual(node, g, other: int, act: str):
    """The FULLY_CONNECTED adding a residual (input 3) in its GEMM epilogue
    (Fusion.residual): constant weights and bias, no epilogue or residual yet."""
    if len(node.inputs) > 3 or "epilogue" in node.attrs or len(node.outputs) != 1:
        return None
    bias_ok = len(node.inputs) < 3 or node.inputs[2] < 0 or g.tensors[node.inputs[2]].is_const
    if not (g.tensors[node.inputs[1]].is_const and bias_ok):
        return None
    return with_residual(node, other, act, 3)


@register("FULLY_CONNECTED", header="matmul.h", check=_check_fc, shape=_fc_shape,
          fusion=Fusion(takes_clamp=True, takes_epilogue=True, residual=_fuse_residual))
def fully_connected(node, g, e):
    x, w = node.inputs[0], node.inputs[1]
    out_depth, in_depth = shape(g, w)
    batch = g.tensors[x].size // in_depth
    bias = e.src(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] >= 0 else "nullptr"
    params = e.param("dlcoder_rt::FullyConnectedParams", cgen.struct_init("FullyConnectedParams", {
        "batch": batch, "in_depth": in_depth, "out_depth": out_depth, "act": clamp_init(node),
        "post": post_init(node), "res_act": clamp_init(node, attr="residual_act"),
        "slope": slope_init(node, g)}))
    weights = g.const(w)
    bias_const = len(node.inputs) < 3 or node.inputs[2] < 0 or g.const(node.inputs[2]) is not None
    if weights is not None and bias_const:
        half = node.attrs.get("weights_f16", False)
        packed = packed_weights(e, weights.T, half)
        bias = padded_bias(node, g, e, 2, out_depth)
        params = bind_slope(node, g, e, params)
        depth = depth_arg(batch, in_depth, half)
        return (f"dlcoder_rt::fully_connected_f32_gemm{depth}(par, {params}, {e.src(x)}, {packed}, {bias}, "
                f"{residual(node, e, 3)}, {e.dst(node.outputs[0])});")
    if weights is not None:
        packed = e.weights(np.ascontiguousarray(weights.T, np.float32))
        return ([f"dlcoder_rt::fully_connected_f32({params}, {e.src(x)}, {packed}, {bias}, "
                 f"{e.dst(node.outputs[0])});"] + post_statement(node, g, e))
    return ([f"dlcoder_rt::fully_connected_f32_oi({params}, {e.src(x)}, {e.src(w)}, {bias}, "
             f"{e.dst(node.outputs[0])});"] + post_statement(node, g, e))


def _operand(g, t, perm, adj: bool) -> tuple:
    """(logical shape, adj as stored, elements between stored rows, batch strides) of an
    operand read as transpose(t, perm) (fuse_transpose_matmul) or as t itself."""
    shp, st = transposed_strides(shape(g, t), perm)
    if st[-1] == 1:
        return shp, adj, st[-2], st[:-2]
    return shp, not adj, st[-1], st[:-2]   # the stored matrix is the logical one transposed


def _views(node, g) -> dict:
    """The BATCH_MATMUL as strided views: m, k, n, the batch dims of the result, and per
    operand (lhs, rhs, out) its adj flag, row stride and batch strides."""
    adj_x, adj_y = bool(node.attrs.get("adj_x")), bool(node.attrs.get("adj_y"))
    sa, ax, lda, ba = _operand(g, node.inputs[0], node.attrs.get("a_perm"), adj_x)
    sb, ay, ldb, bb = _operand(g, node.inputs[1], node.attrs.get("b_perm"), adj_y)
    m, k = (sa[-1], sa[-2]) if adj_x else (sa[-2], sa[-1])
    n = sb[-2] if adj_y else sb[-1]
    # the result R is written through transpose(R, out_perm): R's dim perm[j] is final dim j
    final, perm = shape(g, node.outputs[0]), node.attrs.get("out_perm")
    where = list(range(len(final))) if perm is None else [perm.index(r) for r in range(len(perm))]
    st = strides(final)
    so, os_ = [final[j] for j in where], [st[j] for j in where]
    batch = so[:-2]
    return {"m": m, "k": k, "n": n, "batch": batch, "adj_x": ax, "adj_y": ay, "lda": lda, "ldb": ldb,
            "ldc": os_[-2], "a": broadcast_strides(sa[:-2], batch, ba),
            "b": broadcast_strides(sb[:-2], batch, bb), "o": os_[:-2]}


def _batch_matmul_scratch(node, g) -> int:
    """rhs packed into 16-column panels (unless the kernel reads it in place: not
    transposed, whole panels), plus lhs transposed when adj_x."""
    v = _views(node, g)
    in_place = not v["adj_y"] and v["n"] % PANEL == 0
    floats = (0 if in_place else panels(v["n"]) * PANEL * v["k"]) + (v["m"] * v["k"] if v["adj_x"] else 0)
    return floats * 4


def _batch_matmul_shape(node, g):
    """TFLite's batch_matmul Prepare: ranks 2 to 5, the batch dims broadcast, adj_x / adj_y
    swap the last two dims of lhs / rhs before [.., m, k] x [.., k, n]; the dtypes of
    _BATCH_MATMUL_DTYPES."""
    arity(node, 2)
    a, b = in_shape(g, node, 0), in_shape(g, node, 1)
    rank_between(a, 2, 5, "lhs")
    rank_between(b, 2, 5, "rhs")
    m, k = (a[-1], a[-2]) if node.attrs.get("adj_x") else (a[-2], a[-1])
    k2, n = (b[-1], b[-2]) if node.attrs.get("adj_y") else (b[-2], b[-1])
    if k != k2:
        fail(f"lhs is {m}x{k} and rhs {k2}x{n} (after adj_x / adj_y): {k} != {k2}")
    dtypes_by(g, node, _BATCH_MATMUL_DTYPES)
    return [broadcast(a[:-2], b[:-2]) + (m, n)]


def batch_matmul_params(node, g, e) -> str:
    """The BatchMatMulParams constant of a BATCH_MATMUL node (its operands as views)."""
    v = _views(node, g)
    if len(v["batch"]) > MAX_DIMS:
        raise UnsupportedError(f"BATCH_MATMUL with {len(v['batch'])} batch dims")
    pad = MAX_DIMS - len(v["batch"])

    def dims(values, fill):
        return cgen.array_init([fill] * pad + list(values), "int32_t")
    return e.param("dlcoder_rt::BatchMatMulParams", cgen.struct_init("BatchMatMulParams", {
        "dims": dims(v["batch"], 1), "a_strides": dims(v["a"], 0), "b_strides": dims(v["b"], 0),
        "o_strides": dims(v["o"], 0), "m": v["m"], "k": v["k"], "n": v["n"], "adj_x": v["adj_x"],
        "adj_y": v["adj_y"], "lda": v["lda"], "ldb": v["ldb"], "ldc": v["ldc"]}))


@register("BATCH_MATMUL", header="matmul.h", scratch=_batch_matmul_scratch,
          shape=_batch_matmul_shape)
def batch_matmul(node, g, e):
    params, v = batch_matmul_params(node, g, e), _views(node, g)
    return (f"dlcoder_rt::batch_matmul_f32_gemm{depth_arg(v['m'], v['k'])}({params}, {e.src(node.inputs[0])}, {e.src(node.inputs[1])}, "
            f"{e.dst(node.outputs[0])}, {e.scratch('float')});")
