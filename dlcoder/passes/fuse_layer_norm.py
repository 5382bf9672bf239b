"""Layer normalisation over the last axis, as the converter lowers it to ten elementwise
and reduction ops, becomes one DLCODER_LAYER_NORM node (one pass over each row).

The core, in either operand order:
    m = MEAN(x, last axis, keep_dims)      d = SQUARED_DIFFERENCE(x, m)
    v = MEAN(d, last axis, keep_dims)      r = RSQRT(ADD(v, eps))
then one of the two tails the converter emits, with gamma and beta optional constants
along the last axis:
    Keras:  g = MUL(r, gamma)   y = ADD(MUL(x, g), MUL(NEG(m), g) [+ beta])   [+ beta]
    tf.nn:  y = MUL(SUB(x, m), r)   [* gamma]   [+ beta]
Every tensor in between must be read only inside the pattern, carry no fused activation
and not be a graph output. y = (x - m) * r * gamma + beta is the same value; it differs
from the unfused ops by rounding only.
"""
from __future__ import annotations

import numpy as np

from dlcoder.ir import Graph, Node
from dlcoder.ops import Op
from dlcoder.passes.rewrite import drop_nodes, float32, fused_attrs, plain, rewrite_until_fixed

OP = Op.DLCODER_LAYER_NORM
_COMMUTATIVE = {Op.ADD, Op.MUL, Op.SQUARED_DIFFERENCE}


class _Match:
    """Reads the graph around a candidate, remembering the nodes it walks through."""

    def __init__(self, g: Graph, producers: dict, consumers: dict):
        self.g, self.producers, self.consumers = g, producers, consumers
        self.nodes = []

    def private(self, t: int) -> bool:
        return t not in self.g.outputs and not self.g.tensors[t].is_const

    def node(self, t: int, op: str):
        """The node that writes t, if it is an `op` without a fused activation."""
        i = self.producers.get(t)
        if i is None or self.g.nodes[i].op != op:
            return None
        n = self.g.nodes[i]
        if not plain(n) or len(n.outputs) != 1:
            return None
        self.nodes.append(i)
        return n

    def operands(self, n: Node, want):
        """n's two inputs as (a, b) with want(a) true, trying both orders if n commutes."""
        a, b = n.inputs[:2]
        if want(a):
            return a, b
        if n.op in _COMMUTATIVE and want(b):
            return b, a
        return None

    def channel_const(self, t: int, channels: int):
        """A constant that broadcasts along the last axis only, as [channels] floats."""
        v = self.g.const(t)
        if v is None or v.dtype != np.float32 or v.size not in (1, channels):
            return None
        if v.size == channels and v.ndim and v.shape[-1] != channels:
            return None
        return np.broadcast_to(v.reshape(-1), (channels,)).astype(np.float32)

    def last_axis_mean(self, t: int, of=None):
        n = self.node(t, Op.MEAN)
        if n is None or not n.attrs.get("keep_dims", False) or (of is not None and n.inputs[0] != of):
            return None
        axes = self.g.const(n.inputs[1])
        rank = len(self.g.tensors[n.inputs[0]].shape)
        if axes is None or [int(a) % rank for a in np.ravel(axes)] != [rank - 1]:
            return None
        return n


def _core(m: _Match, rsqrt: Node):
    """(x, mean tensor, eps) of the core ending in `rsqrt`, or None."""
    add = m.node(rsqrt.inputs[0], Op.ADD)
    if add is None:
        return None
    pair = m.operands(add, lambda t: m.g.const(t) is None)
    if pair is None or m.g.const(pair[1]) is None or m.g.const(pair[1]).size != 1:
        return None
    var_t, eps_t = pair
    var = m.last_axis_mean(var_t)
    sqd = var and m.node(var.inputs[0], Op.SQUARED_DIFFERENCE)
    if sqd is None:
        return None
    for x, mean_t in (sqd.inputs[:2], sqd.inputs[1::-1]):
        mark = len(m.nodes)
        if m.last_axis_mean(mean_t, of=x) is not None:
            return x, mean_t, float(m.g.const(eps_t).ravel()[0])
        del m.nodes[mark:]
    return None


def _only_reader(m: _Match, t: int, op: str):
    """The single node reading t, if it is an `op`."""
    readers = m.consumers.get(t, ())
    if len(readers) != 1 or not m.private(t):
        return None
    return m.node(m.g.nodes[readers[0]].outputs[0], op) if m.g.nodes[readers[0]].op == op else None


def _then_const(m: _Match, t: int, op: str, channels: int):
    """(its output, the constant) if t's only reader is `op` with a constant along the last
    axis as its other operand; else (t, None), the reader not taken into the match."""
    n = _only_reader(m, t, op)
    pair = n and m.operands(n, lambda a: a == t)
    if pair and m.channel_const(pair[1], channels) is not None:
        return n.outputs[0], m.channel_const(pair[1], channels)
    if n is not None:
        m.nodes.pop()
    return t, None


def _scale_shift(m: _Match, t: int, channels: int, gamma, beta):
    """Follow an optional MUL by gamma (unless there is one) and ADD of beta after t;
    (y, gamma, beta)."""
    if gamma is None:
        t, gamma = _then_const(m, t, Op.MUL, channels)
    t, more = _then_const(m, t, Op.ADD, channels)
    if more is not None:
        beta = more if beta is None else beta + more
    return t, gamma, beta


def _tail(m: _Match, x: int, mean_t: int, r: int, channels: int):
    """(y, gamma, beta) of a tail after r = rsqrt(var + eps), or None."""
    ones = np.ones(channels, np.float32)
    readers = [m.g.nodes[i] for i in m.consumers.get(r, ())]
    if len(readers) != 1 or readers[0].op != Op.MUL or not m.private(r):
        return None
    first = m.node(readers[0].outputs[0], Op.MUL)
    if first is None:
        return None
    other = m.operands(first, lambda a: a == r)[1]
    gamma = m.channel_const(other, channels)
    if gamma is not None:   # Keras: g = r * gamma; x * g + (-m) * g
        g_t = first.outputs[0]
        users = [m.g.nodes[i] for i in m.consumers.get(g_t, ())]
        if len(users) != 2 or not m.private(g_t):
            return None
        xs = [u for u in users if u.op == Op.MUL and x in u.inputs[:2]]
        ns = [u for u in users if u.op == Op.MUL and x not in u.inputs[:2]]
        if len(xs) != 1 or len(ns) != 1:
            return None
        neg_t = m.operands(ns[0], lambda a: a != g_t)[0]
        neg = m.node(neg_t, Op.NEG)
        if neg is None or neg.inputs[0] != mean_t or len(m.consumers.get(neg_t, ())) != 1:
            return None
        for u in (xs[0], ns[0]):
            if m.node(u.outputs[0], Op.MUL) is None or len(m.consumers.get(u.outputs[0], ())) != 1:
                return None
        p_t = xs[0].outputs[0]
        q_t, beta = _then_const(m, ns[0].outputs[0], Op.ADD, channels)   # beta - m * g
        add = m.node(m.g.nodes[m.consumers[p_t][0]].outputs[0], Op.ADD)
        if add is None or set(add.inputs[:2]) != {p_t, q_t}:
            return None
        return _scale_shift(m, add.outputs[0], channels, gamma, beta)
    # tf.nn: (x - m) * r
    sub = m.node(other, Op.SUB)
    if sub is None or tuple(sub.inputs[:2]) != (x, mean_t) or len(m.consumers.get(other, ())) != 1:
        return None
    y, gamma, beta = _scale_shift(m, first.outputs[0], channels, None, None)
    return y, (ones if gamma is None else gamma), beta


def fuse_layer_norm(g: Graph) -> Graph:
    def rewrite(g, i, node, producers, consumers):
        if node.op != Op.RSQRT or not float32(g, node.inputs[0]):
            return None
        m = _Match(g, producers, consumers)
        m.nodes.append(i)
        core = _core(m, node)
        if core is None:
            return None
        x, mean_t, eps = core
        channels = g.tensors[x].shape[-1]
        tail = _tail(m, x, mean_t, node.outputs[0], channels)
        if tail is None:
            return None
        y, gamma, beta = tail
        used = set(m.nodes)
        # the intermediates (all outputs of the pattern but y) must be read inside it only
        inside = {t for j in used for t in g.nodes[j].outputs}
        for t in inside - {y}:
            if t in g.outputs or any(c not in used for c in consumers.get(t, ())):
                return None
        if g.tensors[y].shape != g.tensors[x].shape:
            return None
        beta = np.zeros(channels, np.float32) if beta is None else beta
        g2, gamma_t = g.add_tensor(g.tensors[x].replace(name="layer_norm/gamma", shape=(channels,),
                                                        data=gamma, signature=None))
        g2, beta_t = g2.add_tensor(g.tensors[x].replace(name="layer_norm/beta", shape=(channels,),
                                                        data=beta, signature=None))
        last = max(used)
        attrs = fused_attrs({"epsilon": eps}, *(g.nodes[j] for j in sorted(used)))
        fused = Node(OP, (x, gamma_t, beta_t), (y,), attrs, g.nodes[last].index)
        nodes = list(g2.nodes)
        nodes[last] = fused
        return drop_nodes(g2.replace(nodes=tuple(nodes)), used - {last})
    return rewrite_until_fixed(g, rewrite)
