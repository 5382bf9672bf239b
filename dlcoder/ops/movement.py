"""Shape and data movement: RESHAPE family (copies where not aliased), TRANSPOSE,
CONCATENATION, PAD / PADV2."""
from __future__ import annotations

import numpy as np

from dlcoder.codegen import cgen
from dlcoder.ops import ANY, register
from dlcoder.ops._common import (check_activation, clamp_init, const_ints, ctype, loop6,
                                 loop6_init, norm_axis, require_const, shape, strides)


def _reshape_eval(node, g, values):
    if values[0] is None:
        return None
    return [values[0].reshape(shape(g, node.outputs[0]))]


def _copy(node, g, e) -> str:
    x, out = node.inputs[0], node.outputs[0]
    return f"dlcoder_rt::copy({g.tensors[out].size}, {e.src(x)}, {e.dst(out)});"


for _name in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS"):
    register(_name, header="movement.h", dtypes=ANY, evaluate=_reshape_eval)(_copy)


def _transpose_eval(node, g, values):
    if values[0] is None or values[1] is None:
        return None
    return [np.transpose(values[0], [int(p) for p in values[1]])]


@register("TRANSPOSE", header="movement.h", dtypes=ANY, check=require_const(1),
          evaluate=_transpose_eval)
def transpose(node, g, e):
    x, out = node.inputs[0], node.outputs[0]
    in_shape = shape(g, x)
    perm = [norm_axis(p, len(in_shape)) for p in const_ints(g, node.inputs[1], "perm", node)]
    in_st = strides(in_shape)
    out_shape = [in_shape[p] for p in perm]
    loop = loop6(out_shape or [1], [in_st[p] for p in perm] or [1], strides(out_shape) or [1])
    params = e.param("dlcoder_rt::Loop6", loop6_init(loop))
    return f"dlcoder_rt::copy_loop({params}, {e.src(x)}, {e.dst(out)});"


def _concat_eval(node, g, values):
    if any(v is None for v in values) or node.attrs.get("fused_activation_function", "NONE") != "NONE":
        return None
    return [np.concatenate(values, axis=node.attrs["axis"])]


@register("CONCATENATION", header="movement.h", dtypes=ANY, check=check_activation,
          evaluate=_concat_eval)
def concatenation(node, g, e):
    out = node.outputs[0]
    out_shape = shape(g, out)
    axis = norm_axis(node.attrs["axis"], len(out_shape))
    outer = int(np.prod(out_shape[:axis], dtype=np.int64))
    inner = int(np.prod(out_shape[axis + 1:], dtype=np.int64))
    dst_row = out_shape[axis] * inner
    lines, col = [], 0
    for t in node.inputs:
        row = shape(g, t)[axis] * inner
        lines.append(f"dlcoder_rt::copy_rows<{ctype(g, out)}>(par, {outer}, {row}, {dst_row}, {col}, "
                     f"{e.src(t)}, {e.dst(out)});")
        col += row
    if node.attrs.get("fused_activation_function", "NONE") != "NONE":
        lines.append(f"dlcoder_rt::clamp_all<float>({g.tensors[out].size}, {e.dst(out)}, "
                     f"{clamp_init(node)});")
    return lines


def _pad_value(node, g) -> float:
    if node.op == "PADV2" and len(node.inputs) > 2 and node.inputs[2] >= 0:
        return np.asarray(g.const(node.inputs[2])).ravel()[0]
    return 0


@register("PAD", "PADV2", header="movement.h", dtypes=ANY, check=require_const(1, 2))
def pad(node, g, e):
    x, out = node.inputs[0], node.outputs[0]
    in_shape, out_shape = shape(g, x), shape(g, out)
    pads = np.asarray(const_ints(g, node.inputs[1], "paddings", node)).reshape(-1, 2)
    out_st = strides(out_shape)
    base = int(sum(int(pads[i, 0]) * out_st[i] for i in range(len(out_shape))))
    ct = ctype(g, out)
    value = cgen.literal(_pad_value(node, g), ct)
    lines = [f"dlcoder_rt::fill<{ct}>({g.tensors[out].size}, {value}, {e.dst(out)});"]
    if g.tensors[x].size:
        loop = loop6(in_shape or [1], strides(in_shape) or [1], out_st or [1])
        params = e.param("dlcoder_rt::Loop6", loop6_init(loop))
        lines.append(f"dlcoder_rt::copy_loop({params}, {e.src(x)}, {e.dst(out)} + {base});")
    return lines
