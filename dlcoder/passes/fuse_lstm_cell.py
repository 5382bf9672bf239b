"""Fuse the gate arithmetic of an LSTM cell into one DLCODER_LSTM_CELL op.

An LSTM the converter did not fuse into UNIDIRECTIONAL_SEQUENCE_LSTM (a Keras LSTM lowered
to a WHILE loop, a hand-written cell) computes every step

    z = ADD(gates, bias)                      the ADD is optional (bias: a constant [4n])
    zi, zf, zc, zo = SPLIT(z, 4, axis=-1)     the four quarters in any order
    c = ADD(MUL(LOGISTIC(zf), c_prev), MUL(LOGISTIC(zi), TANH(zc)))
    h = MUL(LOGISTIC(zo), TANH(c))

as a dozen ops on rows of n floats, each a call and a pass over memory. The fused op does
it in one pass, with the same vector functions and roundings (simd_math.h: lstm_cell).
The roles of the three LOGISTIC gates come from the data flow: the forget gate multiplies
the previous cell state, the input gate the TANH quarter, and the output gate TANH(c).
Every intermediate must be read only inside the pattern and have the shape of c (no
broadcast); c and h may be read anywhere.
"""
from __future__ import annotations

import numpy as np

from dlcoder.ir import Graph, Node
from dlcoder.ops import Op
from dlcoder.passes.rewrite import (drop_nodes, float32, fused_attrs, plain, private_producer,
                                   rewrite_until_fixed)


def _sole_reader(g, t, op, consumers):
    """The node that alone reads intermediate t, if it is an `op` without a fused activation."""
    if t in g.outputs or len(consumers.get(t, ())) != 1:
        return None
    n = consumers[t][0]
    node = g.nodes[n]
    if node.op != op or not plain(node):
        return None
    return n


def _other(node, t):
    """The operand of a binary node that is not t (None if both are t or neither)."""
    a, b = node.inputs[:2]
    return b if a == t and b != t else a if b == t and a != t else None


def _split_quarters(g, split):
    """z, if `split` cuts z into four along its last axis."""
    if split.op != Op.SPLIT or len(split.outputs) != 4:
        return None
    axis_t, z = split.inputs[:2]
    axis = g.const(axis_t)
    dims = g.tensors[z].shape
    if axis is None or not float32(g, z) or not dims:
        return None
    a = int(np.asarray(axis).ravel()[0])
    return z if a in (-1, len(dims) - 1) else None


def _bias_add(g, z, producers, consumers):
    """(gates, bias, ADD node) if z = ADD(gates, bias[4n]) with z read only by the SPLIT."""
    p = private_producer(g, z, producers, consumers)
    if p is None:
        return None
    add = g.nodes[p]
    if add.op != Op.ADD or not plain(add):
        return None
    dims = g.tensors[z].shape
    for x, b in (add.inputs[:2], add.inputs[1::-1]):
        if g.tensors[x].shape == dims and g.const(b) is not None and g.tensors[b].shape == (dims[-1],):
            return x, b, p
    return None


def fuse_lstm_cell(g: Graph) -> Graph:
    def fuse(g, s, split, producers, consumers):
        z = _split_quarters(g, split)
        if z is None:
            return None
        acts = []   # the activation reading each quarter
        for t in split.outputs:
            a = next((r for r in (_sole_reader(g, t, op, consumers) for op in (Op.LOGISTIC, Op.TANH))
                      if r is not None), None)
            if a is None or g.nodes[a].inputs[0] != t:
                return None
            acts.append(a)
        kinds = [g.nodes[a].op for a in acts]
        if kinds.count(Op.TANH) != 1:
            return None
        out = [g.nodes[a].outputs[0] for a in acts]
        gate_of = {t: k for k, t in enumerate(out)}
        k_cell = kinds.index(Op.TANH)
        m_in = _sole_reader(g, out[k_cell], Op.MUL, consumers)
        if m_in is None:
            return None
        k_in = gate_of.get(_other(g.nodes[m_in], out[k_cell]))
        add = _sole_reader(g, g.nodes[m_in].outputs[0], Op.ADD, consumers)
        if k_in is None or add is None:
            return None
        m_forget = private_producer(g, _other(g.nodes[add], g.nodes[m_in].outputs[0]), producers, consumers)
        if m_forget is None or g.nodes[m_forget].op != Op.MUL or not plain(g.nodes[m_forget]):
            return None
        k_forget = next((gate_of[t] for t in g.nodes[m_forget].inputs[:2]
                         if gate_of.get(t) not in (None, k_cell, k_in)), None)
        if k_forget is None or _sole_reader(g, out[k_forget], Op.MUL, consumers) != m_forget:
            return None
        c_prev = _other(g.nodes[m_forget], out[k_forget])
        k_out = ({0, 1, 2, 3} - {k_cell, k_in, k_forget}).pop()
        c = g.nodes[add].outputs[0]
        m_out = _sole_reader(g, out[k_out], Op.MUL, consumers)
        if c_prev is None or c_prev in out or m_out is None:
            return None
        tanh_c = private_producer(g, _other(g.nodes[m_out], out[k_out]), producers, consumers)
        if tanh_c is None or g.nodes[tanh_c].op != Op.TANH or g.nodes[tanh_c].inputs[0] != c:
            return None
        h = g.nodes[m_out].outputs[0]
        n = g.tensors[c].shape
        if any(g.tensors[t].shape != n for t in out + [c_prev, h]) or g.tensors[z].shape != n[:-1] + (4 * n[-1],):
            return None
        pattern = [s, *acts, m_in, m_forget, add, tanh_c, m_out]
        gates, bias = z, -1
        found = _bias_add(g, z, producers, consumers)
        if found is not None:
            gates, bias, p = found
            pattern.append(p)
        # placed where c was made: its readers, and h's, all come later
        node = Node(op=Op.DLCODER_LSTM_CELL, inputs=(gates, c_prev, bias), outputs=(c, h),
                    attrs=fused_attrs({"gates": (k_in, k_forget, k_cell, k_out)},
                                      *(g.nodes[j] for j in pattern)),
                    index=g.nodes[add].index)
        nodes = list(g.nodes)
        nodes[add] = node
        return drop_nodes(g.replace(nodes=tuple(nodes)), [i for i in pattern if i != add])
    return rewrite_until_fixed(g, fuse)
