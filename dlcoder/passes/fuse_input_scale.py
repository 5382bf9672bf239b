"""A per-channel multiply that feeds a 1x1 convolution goes into the convolution's weights.

Squeeze-excite blocks (MobileNetV3, EfficientNet) end in MUL(x, s): every channel of the
feature map x scaled by a computed s[C], then a 1x1 projection. Since W (x * s) = (W s) x,
the 1x1 conv can scale its [in_c][out_c] weights by s at run time instead, and the pass of
the MUL over the whole [H, W, C] map disappears.

Whether the reader can take the scale, and where, is its op's Fusion.input_scale hook
(CONV_2D: a 1x1 stride-1 GEMM conv without a scale yet, on a map at least as large as its
weights, takes s as input 4; ops/conv.py). Conditions here: float32; s has C elements along
the last axis (shape [C] or [1, ..., 1, C]); the MUL has no fused activation and its output
is read by that node alone, as its input 0, and is not a graph output. The result differs
from the two ops by rounding only (x * s * w against x * (w * s)).
"""
from __future__ import annotations

from dlcoder.ir import Graph
from dlcoder.ops import Op, fusion
from dlcoder.passes.rewrite import drop_nodes, float32, float_node, fused_attrs, plain, rewrite_until_fixed


def _channel_vector(g: Graph, t: int, channels: int) -> bool:
    shape = g.tensors[t].shape
    return (float32(g, t) and len(shape) >= 1 and shape[-1] == channels
            and all(d == 1 for d in shape[:-1]))


def fuse_input_scale(g: Graph) -> Graph:
    def fuse(g, i, mul, producers, consumers):
        if mul.op != Op.MUL or not plain(mul):
            return None
        out = mul.outputs[0]
        readers = consumers.get(out, ())
        if out in g.outputs or len(readers) != 1:
            return None
        reader = g.nodes[readers[0]]
        hook = fusion(reader.op).input_scale
        if hook is None or reader.inputs[0] != out or not float_node(g, reader):
            return None
        c = g.tensors[out].shape[-1]
        for x, s in (mul.inputs[:2], mul.inputs[1::-1]):
            if g.tensors[x].shape != g.tensors[out].shape or not _channel_vector(g, s, c):
                continue
            scaled = hook(reader, g, s)
            if scaled is None:
                return None
            attrs = fused_attrs(scaled.attrs, mul, reader)
            nodes = list(g.nodes)
            nodes[readers[0]] = scaled.replace(inputs=(x,) + tuple(scaled.inputs[1:]), attrs=attrs)
            return drop_nodes(g.replace(nodes=tuple(nodes)), [i])
        return None
    return rewrite_until_fixed(g, fuse)
