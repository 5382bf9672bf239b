"""Fold TRANSPOSEs into the BATCH_MATMUL that reads or writes them.

Attention splits heads with RESHAPE + TRANSPOSE before its two BATCH_MATMULs and merges
them back with TRANSPOSE + RESHAPE after: four copies of an activation per head group,
each as long as the products it feeds on short sequences. The BATCH_MATMUL reads its
operands and writes its result as strided views instead (ops/matmul.py): attrs a_perm /
b_perm name the TRANSPOSE an operand went through (the node reads the TRANSPOSE's input),
out_perm the TRANSPOSE its result goes through (the node writes that TRANSPOSE's output).

A view must keep one of an operand's two matrix dims contiguous (else the kernel could
not read its rows), the result's last dim contiguous, and the TRANSPOSE's tensor private
to the pair (read by nothing else, not a graph output).
"""
from __future__ import annotations

from dlcoder.ir import Graph
from dlcoder.ops import Op
from dlcoder.ops._common import transposed_strides
from dlcoder.passes.rewrite import float32, fuse_into, fused_attrs, private_producer, rewrite_until_fixed


def _perm(g: Graph, node):
    if node.op != Op.TRANSPOSE or len(node.inputs) < 2:
        return None
    perm = g.const(node.inputs[1])
    if perm is None or sorted(int(p) for p in perm.ravel()) != list(range(perm.size)):
        return None
    return tuple(int(p) for p in perm.ravel())


def fuse_transpose_matmul(g: Graph) -> Graph:
    def fuse(g, i, node, producers, consumers):
        if node.op != Op.BATCH_MATMUL or not float32(g, *node.inputs[:2]):
            return None
        for slot, key in ((0, "a_perm"), (1, "b_perm")):
            p = private_producer(g, node.inputs[slot], producers, consumers)
            if key in node.attrs or p is None:
                continue
            perm = _perm(g, g.nodes[p])
            if perm is None or len(perm) < 2:
                continue
            _, st = transposed_strides(g.tensors[g.nodes[p].inputs[0]].shape, perm)
            if st[-1] != 1 and st[-2] != 1:
                continue
            inputs = list(node.inputs)
            inputs[slot] = g.nodes[p].inputs[0]
            attrs = fused_attrs(dict(node.attrs, **{key: perm}), node, g.nodes[p])
            return fuse_into(g, i, node.replace(inputs=tuple(inputs), attrs=attrs), p)
        out = node.outputs[0]
        readers = consumers.get(out, ())
        if "out_perm" in node.attrs or out in g.outputs or len(readers) != 1:
            return None
        t = g.nodes[readers[0]]
        perm = _perm(g, t)
        if perm is None or t.inputs[0] != out or perm[-1] != len(perm) - 1:
            return None
        attrs = fused_attrs(dict(node.attrs, out_perm=perm), node, t)
        return fuse_into(g, i, node.replace(outputs=t.outputs, attrs=attrs), readers[0])
    return rewrite_until_fixed(g, fuse)
