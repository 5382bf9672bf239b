"""Fold DEQUANTIZE and DENSIFY of constants into float/dense constants.

Converters store float16 weights and sparse weights as constants followed by one of
these ops; doing the work at generation time means the kernels see plain dense float32
weights and the run time pays nothing.
"""
from __future__ import annotations

import numpy as np

from dlcoder.ir import Graph
from dlcoder.passes.densify import densify
from dlcoder.passes.rewrite import drop_nodes


def dequantize(t) -> np.ndarray:
    """The float32 value of a constant float16 or affine-quantized tensor."""
    if t.dtype == "float16":
        return t.data.astype(np.float32)
    q = t.quant
    values = t.data.astype(np.float32)
    if q is None:
        return values
    scale, zp = q.scale.astype(np.float32), q.zero_point.astype(np.float32)
    if scale.size > 1:
        shape = [1] * values.ndim
        shape[q.axis] = scale.size
        scale, zp = scale.reshape(shape), zp.reshape(shape)
    return ((values - zp) * scale).astype(np.float32)


def fold_dequantize(g: Graph) -> Graph:
    done = []
    for i, node in enumerate(g.nodes):
        if node.op not in ("DEQUANTIZE", "DENSIFY"):
            continue
        src = g.tensors[node.inputs[0]]
        if not src.is_const:
            continue
        out_id = node.outputs[0]
        out = g.tensors[out_id]
        if node.op == "DENSIFY":
            value = densify(src.data, src.sparsity, out.shape).astype(out.dtype)
        else:
            dense = src if src.sparsity is None else src.replace(
                data=densify(src.data, src.sparsity, out.shape))
            value = dequantize(dense.replace(data=dense.data.reshape(out.shape)))
        g = g.set_tensor(out_id, out.replace(data=value.reshape(out.shape)))
        done.append(i)
    return drop_nodes(g, done)
