"""Small integer tensors as linear forms over values computed at run time.

A shape hook needs the values its output size depends on. validate folds what is
constant; some sizes, though, depend only on a difference of run-time values. `x[:, b:b+k]`
with b a tensor converts to STRIDED_SLICE(x, begin = PACK(0, b), end = PACK(0, ADD(b, k)))
and end - begin = [0, k] whatever b is; `tf.slice(x, begin, end - begin)` likewise.

Each element of a small integer tensor is described as a linear form
    c + sum(coef * term)
over "terms": elements computed at run time that the analysis does not see through, each
named (tensor, flat index). Walking back from a tensor through its producers, it sees
through:
- constants, including the values validate has folded on its way (the form c);
- ADD and SUB without a fused activation, NEG, MUL by a constant (with broadcasting);
- CAST between integer types;
- the ops that only move elements (MOVES): their evaluate hooks, run on element numbers
  instead of values, tell where each output element comes from.
Anything else makes each of its output elements a term of its own.

The forms only choose a static output shape. A kernel that reads such bounds at run time
checks them against the shape it was generated for (movement.h), so where a wrap, a clamp
or a negative index makes the forms wrong for some input, the run returns a status: it
never reads or writes out of bounds.
"""
from __future__ import annotations

import numpy as np

from dlcoder.ir import Graph
from dlcoder.ops import lookup

# tensors larger than this are not described (bounds and shape vectors are short), nor
# producers further back than MAX_DEPTH ops (shape arithmetic is a few ops deep)
MAX_ELEMENTS = 64
MAX_DEPTH = 32
_INTEGER = ("int32", "int64")
# op -> the input positions whose elements it moves (the others must be constants)
MOVES = {"PACK": None, "CONCATENATION": None, "RESHAPE": (0,), "SQUEEZE": (0,),
         "EXPAND_DIMS": (0,), "STRIDED_SLICE": (0,), "SLICE": (0,), "GATHER": (0,),
         "TRANSPOSE": (0,), "REVERSE_V2": (0,), "TILE": (0,), "BROADCAST_TO": (0,)}


# A form: (constant, ((term, coef), ...)), the terms sorted, every coef nonzero.
def _constant(c) -> tuple:
    return int(c), ()


def _combine(a: tuple, b: tuple, sign: int) -> tuple:
    terms = dict(a[1])
    for term, coef in b[1]:
        terms[term] = terms.get(term, 0) + sign * coef
    return a[0] + sign * b[0], tuple(sorted((t, c) for t, c in terms.items() if c))


def _scale(a: tuple, c: int) -> tuple:
    return a[0] * c, tuple((t, k * c) for t, k in a[1]) if c else ()


def _broadcast(fa: list, sa: tuple, fb: list, sb: tuple, fn) -> list:
    """fn over the elements of two operands, numpy-broadcast."""
    ia, ib = np.broadcast_arrays(np.arange(len(fa)).reshape(sa), np.arange(len(fb)).reshape(sb))
    return [fn(fa[i], fb[j]) for i, j in zip(ia.ravel(), ib.ravel())]


class _Walk:
    """The forms of one graph's tensors, each computed once."""

    def __init__(self, g: Graph):
        self.g = g
        self.producer = None      # tensor -> node index, once a tensor needs it
        self.memo: dict = {}

    def forms(self, t: int, depth: int = 0):
        """The flat list of tensor t's forms, or None if it is not a small integer tensor."""
        if t not in self.memo:
            self.memo[t] = self._compute(t, depth)
        return self.memo[t]

    def _compute(self, t: int, depth: int):
        ten = self.g.tensors[t]
        if ten.dtype not in _INTEGER or ten.size > MAX_ELEMENTS:
            return None
        if ten.data is not None:
            return [_constant(v) for v in np.asarray(ten.data).ravel()]
        opaque = [(0, (((t, i), 1),)) for i in range(ten.size)]
        if self.producer is None:
            self.producer = self.g.producers()
        if t not in self.producer or depth >= MAX_DEPTH:
            return opaque
        node = self.g.nodes[self.producer[t]]
        got = self._through(node, node.outputs.index(t), depth + 1)
        if got is None or len(got) != ten.size:
            return opaque
        return [o if f is None else f for f, o in zip(got, opaque)]

    def _through(self, node, pos: int, depth: int):
        """Output `pos`'s forms from the node's inputs, or None where they do not tell."""
        ins = [self.forms(k, depth) if k >= 0 else None for k in node.inputs]
        if node.op in MOVES:
            return self._moved(node, pos, ins)
        if node.attrs.get("fused_activation_function", "NONE") != "NONE":
            return None
        if node.op == "CAST" and ins[0] is not None:
            return ins[0]
        if node.op == "NEG" and ins[0] is not None:
            return [_scale(f, -1) for f in ins[0]]
        if node.op not in ("ADD", "SUB", "MUL") or ins[0] is None or ins[1] is None:
            return None
        sa, sb = (self.g.tensors[k].shape for k in node.inputs[:2])
        if node.op == "MUL":
            return _broadcast(ins[0], sa, ins[1], sb, _product)
        sign = 1 if node.op == "ADD" else -1
        return _broadcast(ins[0], sa, ins[1], sb, lambda a, b: _combine(a, b, sign))

    def _moved(self, node, pos: int, ins: list):
        """Run the op's evaluate hook on element numbers: output element j comes from the
        element whose number it holds."""
        moved = MOVES[node.op] or range(len(node.inputs))
        values, pool = [], []
        for k, t in enumerate(node.inputs):
            if k in moved:
                if ins[k] is None:
                    return None
                size = len(pool)
                pool += ins[k]
                values.append(np.arange(size, size + len(ins[k]), dtype=np.int64)
                              .reshape(self.g.tensors[t].shape))
            else:
                values.append(self.g.const(t))
                if t >= 0 and values[-1] is None:
                    return None
        opdef = lookup(node, self.g)
        out = opdef.evaluate(node, self.g, values) if opdef.evaluate else None
        return None if out is None else [pool[int(i)] for i in np.asarray(out[pos]).ravel()]


def _product(a: tuple, b: tuple):
    """a * b where one of them is a constant; else None: the element is a term of its own
    (_Walk._compute)."""
    if not b[1]:
        return _scale(a, b[0])
    if not a[1]:
        return _scale(b, a[0])
    return None


def values(g: Graph, t: int) -> list:
    """Each element of tensor t: its value where it is the same whatever the run, else
    None (all None for a tensor that is not a small integer tensor)."""
    forms = _Walk(g).forms(t) if t >= 0 else None
    if forms is None:
        return [None] * (g.tensors[t].size if t >= 0 else 0)
    return [c if not terms else None for c, terms in forms]


def differences(g: Graph, a: int, b: int) -> list:
    """Each element of a - b (tensors of one size) where the run-time terms cancel, else
    None."""
    walk = _Walk(g)
    fa, fb = walk.forms(a), walk.forms(b)
    if fa is None or fb is None or len(fa) != len(fb):
        return [None] * g.tensors[a].size
    return [d[0] if not d[1] else None for d in (_combine(x, y, -1) for x, y in zip(fa, fb))]
