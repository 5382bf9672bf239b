"""FULLY_CONNECTED and BATCH_MATMUL (float32)."""
from __future__ import annotations

import numpy as np

from dlcoder.codegen import cgen
from dlcoder.ops import register
from dlcoder.ops._common import (broadcast_strides, check_activation, clamp_init, loop6,
                                 loop6_init, post_init, post_statement, residual, shape)
from dlcoder.ops.conv import PANEL, pack_panels, padded_bias


def _check_fc(node, g):
    if node.attrs.get("weights_format", 0) != 0:
        return "shuffled weights format is not supported"
    return check_activation(node, g)


@register("FULLY_CONNECTED", header="matmul.h", check=_check_fc)
def fully_connected(node, g, e):
    x, w = node.inputs[0], node.inputs[1]
    out_depth, in_depth = shape(g, w)
    batch = g.tensors[x].size // in_depth
    bias = e.src(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] >= 0 else "nullptr"
    params = e.param("dlcoder_rt::FullyConnectedParams", cgen.struct_init({
        "batch": batch, "in_depth": in_depth, "out_depth": out_depth, "act": clamp_init(node),
        "post": post_init(node), "res_act": clamp_init(node, attr="residual_act")}))
    weights = g.const(w)
    bias_const = len(node.inputs) < 3 or node.inputs[2] < 0 or g.const(node.inputs[2]) is not None
    if weights is not None and bias_const:
        packed = e.weights(pack_panels(weights.T))
        bias = padded_bias(node, g, e, 2, out_depth)
        return (f"dlcoder_rt::fully_connected_f32_gemm(par, {params}, {e.src(x)}, {packed}, {bias}, "
                f"{residual(node, e, 3)}, {e.dst(node.outputs[0])});")
    if weights is not None:
        packed = e.weights(np.ascontiguousarray(weights.T, np.float32))
        return ([f"dlcoder_rt::fully_connected_f32({params}, {e.src(x)}, {packed}, {bias}, "
                 f"{e.dst(node.outputs[0])});"] + post_statement(node, g, e))
    return ([f"dlcoder_rt::fully_connected_f32_oi({params}, {e.src(x)}, {e.src(w)}, {bias}, "
             f"{e.dst(node.outputs[0])});"] + post_statement(node, g, e))


def _mkn(node, g):
    sa, sb = shape(g, node.inputs[0]), shape(g, node.inputs[1])
    adj_x, adj_y = bool(node.attrs.get("adj_x")), bool(node.attrs.get("adj_y"))
    m, k = (sa[-1], sa[-2]) if adj_x else (sa[-2], sa[-1])
    n = sb[-2] if adj_y else sb[-1]
    return m, k, n


def _batch_matmul_scratch(node, g) -> int:
    """rhs packed into 16-column panels (unless the kernel reads it in place: not
    transposed, whole panels), plus lhs transposed when adj_x."""
    m, k, n = _mkn(node, g)
    in_place = not node.attrs.get("adj_y") and n % PANEL == 0
    floats = (0 if in_place else -(-n // PANEL) * PANEL * k) + (m * k if node.attrs.get("adj_x") else 0)
    return floats * 4


@register("BATCH_MATMUL", header="matmul.h", scratch=_batch_matmul_scratch)
def batch_matmul(node, g, e):
    a, b = node.inputs[:2]
    sa, sb, so = shape(g, a), shape(g, b), shape(g, node.outputs[0])
    adj_x, adj_y = bool(node.attrs.get("adj_x")), bool(node.attrs.get("adj_y"))
    m, k, n = _mkn(node, g)
    batch_out = tuple(so[:-2])
    loop = loop6(batch_out or (1,), broadcast_strides(sa[:-2], batch_out) or [0],
                 broadcast_strides(sb[:-2], batch_out) or [0])
    params = e.param("dlcoder_rt::BatchMatMulParams", "{" + ", ".join([
        loop6_init(loop), str(m), str(k), str(n), cgen.literal(adj_x, "bool"),
        cgen.literal(adj_y, "bool")]) + "}")
    return (f"dlcoder_rt::batch_matmul_f32_gemm({params}, {e.src(a)}, {e.src(b)}, "
            f"{e.dst(node.outputs[0])}, {e.scratch('float')});")
