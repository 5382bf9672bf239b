"""Which weight layouts the kernels get, from the user's options (compiler.compile_graph
runs this after the pipeline: the pipeline's passes take the graph alone).

- attrs["weights_f16"] on a CONV_2D or FULLY_CONNECTED whose weights the model stores as
  float16 (passes/fold_dequantize.py marked them), and on a DLCODER_CONV_DW whose 1x1
  filters all are: its GEMM panels stay float16, half the bytes, the same results
  (ops/_gemm.py: packed_weights). weights_f32 turns this off.
- attrs["layout"] = "size" on every CONV_2D when size is asked for: the layouts that store
  more bytes for speed are left out (ops/conv.py: Winograd's float32 filter padded to 32
  output channels, a narrow conv's second filter copy for conv2d_pairs). DEPTHWISE_CONV_2D
  has one layout for both (ops/qdepthwise.py).

The marks of float16 values are dropped here: from now on only the attrs say.
"""
from __future__ import annotations

import numpy as np

from dlcoder.ir import Graph
from dlcoder.ops import Op
from dlcoder.ops._gemm import from_float16

# op -> the inputs that its GEMM kernels can read as float16 panels (DLCODER_CONV_DW: the
# 1x1 filters before and after its depthwise conv, ops/fused.py: split_chain)
F16_INPUTS = {Op.CONV_2D: (1,), Op.FULLY_CONNECTED: (1,), Op.DLCODER_CONV_DW: (1, 5)}


def weight_layout(g: Graph, weights_f32: bool = False, size: bool = False) -> Graph:
    nodes = tuple(_node_layout(node, g, weights_f32, size) for node in g.nodes)
    tensors = tuple(t.replace(data=np.asarray(t.data)) if from_float16(t.data) else t for t in g.tensors)
    return g.replace(nodes=nodes, tensors=tensors,
                     subgraphs=tuple(weight_layout(s, weights_f32, size) for s in g.subgraphs))


def _node_layout(node, g: Graph, weights_f32: bool, size: bool):
    extra = {}
    filters = [node.inputs[i] for i in F16_INPUTS.get(node.op, ()) if node.inputs[i] >= 0]
    if not weights_f32 and filters and all(from_float16(g.const(t)) for t in filters):
        extra["weights_f16"] = True
    if size and node.op == Op.CONV_2D:
        extra["layout"] = "size"
    return node.replace(attrs={**node.attrs, **extra}) if extra else node
