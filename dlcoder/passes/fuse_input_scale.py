"""A per-channel multiply that feeds a 1x1 convolution goes into the convolution's weights.

Squeeze-excite blocks (MobileNetV3, EfficientNet) end in MUL(x, s): every channel of the
feature map x scaled by a computed s[C], then a 1x1 projection. Since W (x * s) = (W s) x,
the 1x1 conv can scale its [in_c][out_c] weights by s at run time instead, and the pass of
the MUL over the whole [H, W, C] map disappears. That pays where the map is larger than
the weights: N * H * W >= out_c (a 7x7 map with 192 outputs keeps its MUL).

The conv takes s as input 4 (ops/conv.py; input 3 is a fused residual or -1). Conditions:
float32; s has C elements along the last axis (shape [C] or [1, ..., 1, C]); the MUL has no
fused activation and its output is read by that conv alone and is not a graph output; the
conv is a 1x1 stride-1 GEMM conv without a scale yet. The result differs from the two ops
by rounding only (x * s * w against x * (w * s)).
"""
from __future__ import annotations

from dlcoder.ir import Graph
from dlcoder.ops.conv import INPUT_SCALE, _conv_is_gemm, _conv_padding, _is_pointwise
from dlcoder.passes.rewrite import drop_nodes, rewrite_until_fixed


def _channel_vector(g: Graph, t: int, channels: int) -> bool:
    shape = g.tensors[t].shape
    return (g.tensors[t].dtype == "float32" and len(shape) >= 1 and shape[-1] == channels
            and all(d == 1 for d in shape[:-1]))


def fuse_input_scale(g: Graph) -> Graph:
    def fuse(g, i, mul, producers, consumers):
        if mul.op != "MUL" or mul.attrs.get("fused_activation_function", "NONE") != "NONE":
            return None
        out = mul.outputs[0]
        readers = consumers.get(out, ())
        if out in g.outputs or len(readers) != 1:
            return None
        conv = g.nodes[readers[0]]
        if (conv.op != "CONV_2D" or conv.inputs[0] != out or len(conv.inputs) > INPUT_SCALE
                or not _conv_is_gemm(conv, g) or not _is_pointwise(conv, g, *_conv_padding(conv, g))):
            return None
        n, h, w, c = g.tensors[out].shape
        if n * h * w < g.tensors[conv.outputs[0]].shape[-1]:
            return None   # scaling the weights would cost more than the MUL
        for x, s in (mul.inputs[:2], mul.inputs[1::-1]):
            if g.tensors[x].shape == g.tensors[out].shape and _channel_vector(g, s, c):
                inputs = (x,) + tuple(conv.inputs[1:]) + (-1,) * (INPUT_SCALE - len(conv.inputs)) + (s,)
                nodes = list(g.nodes)
                nodes[readers[0]] = conv.replace(inputs=inputs)
                return drop_nodes(g.replace(nodes=tuple(nodes)), [i])
        return None
    return rewrite_until_fixed(g, fuse)
