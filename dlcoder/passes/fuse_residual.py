"""Fuse a residual ADD into the GEMM epilogue of the convolution or FULLY_CONNECTED that
computes one of its operands.

ResNet blocks, inverted-residual blocks and transformer layers end in ADD(f(x), x). Fused,
the GEMM adds the other operand's tile while its accumulators are still in registers and
applies the ADD's activation, so f(x) is never written and read back.

The fused node reads the other operand as one more input (CONV_2D and FULLY_CONNECTED:
input 3, after a bias that may be -1; DLCODER_CONV_DW: input 7) and records the ADD's
activation in attrs["residual_act"] (for a chain, in its projection's attrs).

Exact: the kernel computes act_add(act_conv(conv(x)) + r) in float32, as TFLite does in
two ops (float addition commutes, so the operand order does not matter).
Conditions: float32, no broadcast (the operand, the GEMM output and the ADD output have one
shape, up to leading 1s); the GEMM output is read by the ADD alone and is not a graph output; the producer
runs on the GEMM kernels (for CONV_2D: ops/conv.py takes_residual) with no epilogue
(HARD_SWISH/swish) and no residual yet; the other
operand is available when the producer runs (a constant, a graph input or the output of an
earlier node).
"""
from __future__ import annotations

from dlcoder.ir import Graph
from dlcoder.ops.conv import takes_residual
from dlcoder.passes.rewrite import fuse_into, private_producer, rewrite_until_fixed

RESIDUAL_INPUT = {"CONV_2D": 3, "FULLY_CONNECTED": 3, "DLCODER_CONV_DW": 7}


def _gemm_producer(node, g) -> bool:
    """The node runs on the GEMM kernels and its epilogue is free."""
    if node.op not in RESIDUAL_INPUT or len(node.inputs) > RESIDUAL_INPUT[node.op]:
        return False
    if node.op == "DLCODER_CONV_DW":
        return "pj" in node.attrs and "epilogue" not in node.attrs["pj"]
    if "epilogue" in node.attrs or len(node.outputs) != 1:
        return False
    if node.op == "CONV_2D":
        return takes_residual(node, g)
    bias_ok = len(node.inputs) < 3 or node.inputs[2] < 0 or g.tensors[node.inputs[2]].is_const
    return g.tensors[node.inputs[1]].is_const and bias_ok


def _fused(node, other: int, act: str):
    if node.op == "DLCODER_CONV_DW":
        attrs = dict(node.attrs, pj=dict(node.attrs["pj"], residual_act=act))
        return node.replace(inputs=node.inputs + (other,), attrs=attrs)
    inputs = tuple(node.inputs) + (-1,) * (3 - len(node.inputs)) + (other,)
    return node.replace(inputs=inputs, attrs=dict(node.attrs, residual_act=act))


def _without_leading_ones(shape) -> tuple:
    shape = tuple(shape)
    while shape and shape[0] == 1:
        shape = shape[1:]
    return shape


def fuse_residual(g: Graph) -> Graph:
    def fuse(g, i, add, producers, consumers):
        if add.op != "ADD" or len(add.inputs) != 2 or add.inputs[0] == add.inputs[1]:
            return None
        # one shape, up to leading 1s ([1, n] + [n]: the same elements in the same order)
        shapes = {_without_leading_ones(g.tensors[t].shape) for t in add.inputs + add.outputs}
        dtypes = {g.tensors[t].dtype for t in add.inputs + add.outputs}
        if len(shapes) != 1 or dtypes != {"float32"}:
            return None
        for side in (0, 1):
            t, other = add.inputs[side], add.inputs[1 - side]
            p = private_producer(g, t, producers, consumers)
            if p is None or not _gemm_producer(g.nodes[p], g):
                continue
            if producers.get(other, -1) >= p:
                continue   # computed after the producer runs
            act = add.attrs.get("fused_activation_function", "NONE")
            return fuse_into(g, p, _fused(g.nodes[p], other, act).replace(outputs=add.outputs), i)
        return None
    return rewrite_until_fixed(g, fuse)
