"""Fuse a residual ADD into the GEMM epilogue of the convolution or FULLY_CONNECTED that
computes one of its operands.

ResNet blocks, inverted-residual blocks and transformer layers end in ADD(f(x), x). Fused,
the GEMM adds the other operand's tile while its accumulators are still in registers and
applies the ADD's activation, so f(x) is never written and read back.

Whether and how a producer takes the residual is its op's Fusion.residual hook: it returns
the node reading the other operand as one more input and applying the ADD's activation
(CONV_2D and FULLY_CONNECTED: input 3, after a bias that may be -1; DLCODER_CONV_DW: input
7), or None when its kernel cannot (not on the GEMM kernels, an epilogue or a residual
already).

Exact: the kernel computes act_add(act_conv(conv(x)) + r) in float32, as TFLite does in
two ops (float addition commutes, so the operand order does not matter).
Conditions here: float32, no broadcast (the operand, the GEMM output and the ADD output
have one shape, up to leading 1s); the GEMM output is read by the ADD alone and is not a
graph output; the other operand is available when the producer runs (a constant, a graph
input or the output of an earlier node).
"""
from __future__ import annotations

from dlcoder.ir import Graph
from dlcoder.ops import Op, fusion
from dlcoder.passes.rewrite import (float32, float_node, fuse_into, fused_attrs, private_producer,
                                   rewrite_until_fixed)


def _without_leading_ones(shape) -> tuple:
    shape = tuple(shape)
    while shape and shape[0] == 1:
        shape = shape[1:]
    return shape


def fuse_residual(g: Graph) -> Graph:
    def fuse(g, i, add, producers, consumers):
        if add.op != Op.ADD or len(add.inputs) != 2 or add.inputs[0] == add.inputs[1]:
            return None
        # one shape, up to leading 1s ([1, n] + [n]: the same elements in the same order)
        shapes = {_without_leading_ones(g.tensors[t].shape) for t in add.inputs + add.outputs}
        if len(shapes) != 1 or not float32(g, *add.inputs, *add.outputs):
            return None
        for side in (0, 1):
            t, other = add.inputs[side], add.inputs[1 - side]
            p = private_producer(g, t, producers, consumers)
            hook = p is not None and float_node(g, g.nodes[p]) and fusion(g.nodes[p].op).residual
            if not hook or producers.get(other, -1) >= p:
                continue   # no residual epilogue, or `other` computed after the producer runs
            act = add.attrs.get("fused_activation_function", "NONE")
            fused = hook(g.nodes[p], g, other, act)
            if fused is None:
                continue
            attrs = fused_attrs(fused.attrs, g.nodes[p], add)
            return fuse_into(g, p, fused.replace(outputs=add.outputs, attrs=attrs), i)
        return None
    return rewrite_until_fixed(g, fuse)
