"""Small helpers for passes."""
from __future__ import annotations

from dlcoder.ir import Graph
from dlcoder.ops import fusion, kind as node_kind

# The fused kernels exist for float32 only: every fusion asks `float32` before it fires.
FUSED_DTYPES = frozenset({"float32"})


def float32(g: Graph, *tensors) -> bool:
    """Every tensor (ids; -1: absent, ignored) has a dtype the fused kernels take."""
    return all(g.tensors[t].dtype in FUSED_DTYPES for t in tensors if t >= 0)


def float_node(g: Graph, node) -> bool:
    """The node computes in float (ops.kind): the fused kernels have no quantized or hybrid
    (float activations, int8 weights) form, so no pass fuses any other node."""
    return node_kind(node, g) == "float"


def plain(node) -> bool:
    """The node applies no fused activation of its own."""
    return node.attrs.get("fused_activation_function", "NONE") == "NONE"


def fused_attrs(attrs: dict, *nodes) -> dict:
    """attrs, recording that the node now stands for the model ops of `nodes`:
    attrs["fused_ops"] names them in model order (fused_index: their positions), which is
    what the user sees in place of an internal op's name (ir.op_label)."""
    named = []
    for n in nodes:
        ops = n.attrs.get("fused_ops", (n.op,))
        named.extend(zip(n.attrs.get("fused_index", (n.index,) * len(ops)), ops))
    named.sort(key=lambda pair: pair[0])
    return dict(attrs, fused_ops=tuple(op for _, op in named),
                fused_index=tuple(i for i, _ in named))


def drop_nodes(g: Graph, indices) -> Graph:
    drop = set(indices)
    return g.replace(nodes=tuple(n for i, n in enumerate(g.nodes) if i not in drop))


def private_producer(g: Graph, t: int, producers: dict, consumers: dict):
    """The index of the node that writes t, if t is an intermediate that exactly one node
    reads (so a fusion may make it disappear); otherwise None."""
    if t in g.outputs or len(consumers.get(t, ())) != 1:
        return None
    return producers.get(t)


def rewrite_until_fixed(g: Graph, rewrite) -> Graph:
    """Apply `rewrite(g, i, node, producers, consumers)` (a new Graph, or None to leave
    node i alone) to the first node it changes, then start over on the new graph, until
    no node changes."""
    while True:
        producers, consumers = g.producers(), g.consumers()
        for i, node in enumerate(g.nodes):
            new = rewrite(g, i, node, producers, consumers)
            if new is not None:
                g = new
                break
        else:
            return g


def fuse_into(g: Graph, keep: int, node, drop: int) -> Graph:
    """Node `keep` replaced by `node`, and node `drop` removed."""
    nodes = list(g.nodes)
    nodes[keep] = node
    return drop_nodes(g.replace(nodes=tuple(nodes)), [drop])


def absorb_activations(g: Graph, kind: str, attr: str, is_free) -> Graph:
    """Move every float activation node into the op that produces its input: an activation
    whose op offers `Fusion.as_<kind>` (a value, or a function of the node and the graph:
    None where this node cannot be absorbed), read from a private intermediate (see
    private_producer) of a single-output producer whose op offers `Fusion.takes_<kind>` and
    with `is_free(producer)`. The producer's attrs[attr] becomes that value, and it writes
    the activation's output."""
    def absorb(g, i, act, producers, consumers):
        value = getattr(fusion(act.op), "as_" + kind)
        if value is None or not float32(g, act.inputs[0]):
            return None
        p = private_producer(g, act.inputs[0], producers, consumers)
        if p is None:
            return None
        prod = g.nodes[p]
        if not getattr(fusion(prod.op), "takes_" + kind) or len(prod.outputs) != 1 \
                or not is_free(prod) or not float_node(g, prod):
            return None
        value = value(act, g) if callable(value) else value
        if value is None:
            return None
        attrs = fused_attrs(dict(prod.attrs, **{attr: value}), prod, act)
        return fuse_into(g, p, prod.replace(attrs=attrs, outputs=act.outputs), i)
    return rewrite_until_fixed(g, absorb)

