"""Fold the ops that decode constant weights (DEQUANTIZE of float16, quantized or sparse
weights) into dense float32 constants.

Converters store float16 and sparse weights as constants followed by such an op; doing the
work at generation time means the kernels see plain dense float32 weights and the run time
pays nothing. Unlike fold_constants this folds whatever the growth (4x for int8 weights).
What an op decodes, and whether it can now, is its Fusion.decode hook. Values decoded from
float16 keep that mark (ops/_gemm.py: FromFloat16): the GEMM kernels can read them as
float16 again, at half the bytes (passes/weight_layout.py).
"""
from __future__ import annotations

import numpy as np

from dlcoder.ir import Graph
from dlcoder.ops import fusion
from dlcoder.ops._gemm import FromFloat16
from dlcoder.passes.rewrite import drop_nodes


def fold_dequantize(g: Graph) -> Graph:
    done = []
    for i, node in enumerate(g.nodes):
        decode = fusion(node.op).decode
        value = decode(node, g) if decode is not None else None
        if value is None:
            continue
        out = g.tensors[node.outputs[0]]
        if g.tensors[node.inputs[0]].dtype == "float16":
            value = np.asarray(value, np.float32).view(FromFloat16)
        g = g.set_tensor(node.outputs[0], out.replace(data=value.reshape(out.shape)))
        done.append(i)
    return drop_nodes(g, done)
