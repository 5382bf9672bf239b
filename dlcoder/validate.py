"""The validation pass: a .tflite file is untrusted input.

It runs on the graph the frontend read, before any other pass, and either returns a graph
whose every fact the rest of the generator relies on has been checked, or raises one
DlcoderError (exit 2) that says what is wrong. In order:

1. Structure, for every subgraph: every tensor index in range (-1, "absent", only where an
   op allows it, which the op's shape hook checks), every subgraph a control-flow node
   names exists and none runs itself, every tensor a node reads is a constant, a graph
   input or the output of an earlier node, no tensor has two writers, no node writes a
   constant or a graph input, every graph output is produced, quantization parameters fit
   their tensor.
2. Ops: every op that can run is one the table knows (UnsupportedError naming them all).
3. Input shapes: pinned ones (--input-shape) are applied. A dynamic input left unpinned
   takes the shape the model stores for it, as TFLite's AllocateTensors does (a converter
   stores 1 where the signature has -1), and `note` says so; only a stored shape with a 0
   where the signature is dynamic, which no input can fill, is a DynamicShapeError.
4. Shapes: every node's shape hook (ops/_shapes.py) computes its outputs' shapes from its
   inputs, in execution order, as TFLite's Prepare does. A stored shape that differs is an
   error, except where the model marks the dimension dynamic (shape_signature -1): there
   the computed shape replaces the placeholder, which is how pinned shapes propagate.
   Values that later shapes depend on (SHAPE -> STRIDED_SLICE -> RESHAPE) are folded along
   the way with the ops' evaluate hooks, on a working copy: the returned graph keeps its
   nodes, only its shapes change.
5. Limits: no tensor, and not the weights together, reach 2 GiB, so every offset and
   size in generated code fits the int32 and the relocations it uses. The arena is checked
   once planned (compiler.compile_graph).
"""
from __future__ import annotations

import collections

import numpy as np

from dlcoder.errors import DlcoderError, DynamicShapeError, InvalidModelError, UnsupportedError
from dlcoder.ir import CTYPES, SUBGRAPH_ATTRS, Graph, Node, op_label, op_note
from dlcoder.ops import TABLE, lookup

MAX_BYTES = 2**31 - 1
# Values folded on the way (shape arithmetic) are small; a larger one is left to
# fold_constants, and an op whose output shape depends on it then needs it constant.
MAX_FOLD_ELEMENTS = 1 << 16


def validate(g: Graph, input_shapes: dict | None = None, note=None) -> Graph:
    """note(text): told of every choice made for the user (a dynamic input's shape)."""
    graphs = (g,) + tuple(g.subgraphs)
    for k, sub in enumerate(graphs):
        _check_structure(sub, k, len(graphs))
    if not g.outputs:
        raise InvalidModelError("the model has no outputs, so there is nothing to compute")
    _check_calls(g)
    report_unsupported(g, lambda node, graph: None if node.op in TABLE else "unsupported op")
    _check_io_dtypes(g)
    g = _pin_inputs(g, input_shapes or {}, note or (lambda text: None))
    subs = tuple(_infer_shapes(s.replace(subgraphs=g.subgraphs), k + 1).replace(subgraphs=())
                 for k, s in enumerate(g.subgraphs))
    g = _infer_shapes(g, 0).replace(subgraphs=subs)
    g = g.replace(variables=_variable_types(g))
    _check_limits(g)
    return g


def _variable_types(g: Graph) -> tuple:
    """Each resource variable's shape, dtype and quantization: those of the values that
    ASSIGN_VARIABLE writes into it and READ_VARIABLE reads out, which must all agree (TFLite
    lets an assignment change a variable's shape; a library with a static arena cannot)."""
    seen: dict = {}
    for k, graph in enumerate((g,) + tuple(g.subgraphs)):
        for i, node in enumerate(graph.nodes):
            if node.op not in ("READ_VARIABLE", "ASSIGN_VARIABLE"):
                continue
            v = node.attrs["variable"]
            if not 0 <= v < len(g.variables):
                raise InvalidModelError(f"{_node_name(node, i, k)} names variable {v}, which does not exist")
            ten = graph.tensors[(node.outputs if node.op == "READ_VARIABLE" else node.inputs)[0]]
            value = (ten.shape, ten.dtype, ten.quant)
            first = seen.setdefault(v, (value, _node_name(node, i, k)))
            if first[0] != value:
                raise UnsupportedError(
                    f"variable '{g.variables[v].name}' is {ten.dtype}{list(ten.shape)} at "
                    f"{_node_name(node, i, k)} but {first[0][1]}{list(first[0][0])} at {first[1]} "
                    f"(or quantized differently); dlcoder needs one shape and type per variable")
    out = []
    for v, var in enumerate(g.variables):   # one only handled, never used, keeps its placeholder
        if v in seen:
            (shape, dtype, quant), _ = seen[v]
            var = var.replace(shape=shape, dtype=dtype, quant=quant)
        out.append(var)
    return tuple(out)


def report_unsupported(g: Graph, why) -> None:
    """Raise one UnsupportedError that names every node of the graph, or of a subgraph its
    control flow runs, for which why(node, graph) gives a reason: each op (by the model's
    op names, ir.op_label, and what dlcoder fused them into) with its count and the index
    of its first node."""
    found = collections.OrderedDict()
    for k, graph in g.reachable():
        for i, node in enumerate(graph.nodes):
            reason = why(node, graph)
            if reason is None:
                continue
            key = (op_label(node), reason, op_note(node))
            where = f"node {node.index if node.index >= 0 else i}" + (f" of subgraph {k}" if k else "")
            count, first = found.get(key, (0, where))
            found[key] = (count + 1, first)
    if found:
        parts = [f"{op} x{count} (first at {first}{'' if reason == 'unsupported op' else ': ' + reason}"
                 f"{'; ' + note if note else ''})"
                 for (op, reason, note), (count, first) in found.items()]
        raise UnsupportedError("unsupported: " + "; ".join(parts))


def _where(k: int) -> str:
    return f" of subgraph {k}" if k else ""


def _node_name(node: Node, i: int, k: int) -> str:
    return f"node {node.index if node.index >= 0 else i} ({op_label(node)}){_where(k)}"


def _check_structure(g: Graph, k: int, n_graphs: int) -> None:
    n = len(g.tensors)

    def tensor_ok(t, what, allow_absent=False):
        if not (-1 if allow_absent else 0) <= t < n:
            raise InvalidModelError(f"{what}{_where(k)} names tensor {t}, but there are {n}")

    for t in g.inputs:
        tensor_ok(t, "an input")
    for t in g.outputs:
        tensor_ok(t, "an output")
    if len(set(g.inputs)) != len(g.inputs):
        raise InvalidModelError(f"an input{_where(k)} is listed twice")
    writer = {}
    known = set(g.inputs) | {t for t in range(n) if g.tensors[t].is_const}
    for i, node in enumerate(g.nodes):
        name = _node_name(node, i, k)
        for t in node.inputs:
            tensor_ok(t, name, allow_absent=True)
            if t >= 0 and t not in known:
                raise InvalidModelError(f"{name} reads tensor {t} '{g.tensors[t].name}', which "
                                        f"is neither an input, a constant, nor written before")
        for t in node.outputs:
            tensor_ok(t, name)
            if t in writer:
                raise InvalidModelError(f"{name} writes tensor {t} '{g.tensors[t].name}', which "
                                        f"node {writer[t]} writes too")
            if t in g.inputs or g.tensors[t].is_const:
                kind = "an input" if t in g.inputs else "a constant"
                raise InvalidModelError(f"{name} writes tensor {t} '{g.tensors[t].name}', "
                                        f"which is {kind}")
            writer[t] = node.index if node.index >= 0 else i
            known.add(t)
        for t in node.attrs.get("intermediates", ()):
            tensor_ok(t, f"{name}'s intermediate")
        for a in SUBGRAPH_ATTRS:
            if a in node.attrs and not 1 <= node.attrs[a] < n_graphs:
                raise InvalidModelError(f"{name}: {a} {node.attrs[a]} names no subgraph "
                                        f"(the model has {n_graphs})")
    for t in g.outputs:
        if t not in known:
            raise InvalidModelError(f"output tensor {t} '{g.tensors[t].name}'{_where(k)} is "
                                    f"never written")
    for t, ten in enumerate(g.tensors):
        _check_tensor(ten, t, k)


def _check_tensor(ten, t: int, k: int) -> None:
    what = f"tensor {t} '{ten.name}'{_where(k)}"
    if any(d < 0 for d in ten.shape):
        raise InvalidModelError(f"{what} has a negative dimension in its shape {list(ten.shape)}")
    if ten.signature is not None and (len(ten.signature) != len(ten.shape)
                                      or any(d < -1 for d in ten.signature)):
        raise InvalidModelError(f"{what}: shape signature {list(ten.signature)} does not fit "
                                f"its shape {list(ten.shape)}")
    q = ten.quant
    if q is not None:
        if len(q.zero_point) != len(q.scale):
            raise InvalidModelError(f"{what} has {len(q.scale)} quantization scales but "
                                    f"{len(q.zero_point)} zero points")
        if len(q.scale) > 1 and not (0 <= q.axis < len(ten.shape) and ten.shape[q.axis] == len(q.scale)):
            raise InvalidModelError(f"{what} has {len(q.scale)} quantization scales along axis "
                                    f"{q.axis} of its shape {list(ten.shape)}")
        if not np.all(np.isfinite(q.scales())):
            raise InvalidModelError(f"{what} has a quantization scale that is not finite")


def _check_io_dtypes(g: Graph) -> None:
    """The C API hands the caller every input and output as a C array. An input that no
    node reads, or an output that no node writes (an input passed straight through), is
    seen by no op's dtype rule, so it needs a C type of its own; the others are named with
    their op by compiler.check_supported."""
    touched = {t for n in g.nodes for t in n.inputs + n.outputs}
    for kind, ids in (("input", g.inputs), ("output", g.outputs)):
        for t in ids:
            ten = g.tensors[t]
            if t not in touched and ten.dtype not in CTYPES:
                raise UnsupportedError(f"{kind} '{ten.name}' has dtype {ten.dtype}, which no "
                                       f"generated library can take")


def _check_calls(g: Graph) -> None:
    """No subgraph runs itself, directly or through others: generated code inlines the
    subgraphs that control flow runs, so a cycle would never end."""
    graphs = (g,) + tuple(g.subgraphs)
    state = {}

    def visit(k, path):
        state[k] = "open"
        for c in graphs[k].called():
            if state.get(c) == "open":
                raise InvalidModelError(f"subgraph {c} runs itself (through {' -> '.join(map(str, path + [c]))})")
            if c not in state:
                visit(c, path + [c])
        state[k] = "done"

    for k in range(len(graphs)):
        if k not in state:
            visit(k, [k])


def _pin_inputs(g: Graph, shapes: dict, note) -> Graph:
    by_name = {g.tensors[t].name: t for t in g.inputs}
    for name, shape in shapes.items():
        if name not in by_name:
            raise DlcoderError(f"--input-shape names '{name}', which is not an input "
                               f"(inputs: {', '.join(sorted(by_name))})")
        t = by_name[name]
        ten = g.tensors[t]
        sig = ten.signature or ten.shape
        if len(sig) != len(shape) or any(s >= 0 and s != d for s, d in zip(sig, shape)):
            raise DlcoderError(f"--input-shape {name}: {list(shape)} does not fit the model's "
                               f"shape {list(sig)}")
        g = g.set_tensor(t, ten.replace(shape=tuple(shape), signature=tuple(shape)))
    for t in g.inputs:
        ten = g.tensors[t]
        if ten.signature is None or all(d >= 0 for d in ten.signature):
            continue
        dims = "x".join("?" if d < 0 else str(d) for d in ten.signature)
        pin = f"--input-shape {ten.name}={'x'.join(str(max(d, 1)) for d in ten.signature)}"
        if any(d < 1 for d, s in zip(ten.shape, ten.signature) if s < 0):
            raise DynamicShapeError(f"input '{ten.name}' has a dynamic shape [{dims}] and the model "
                                    f"stores no size for it; pin it with {pin}")
        chosen = "x".join(map(str, ten.shape))
        note(f"input '{ten.name}' has a dynamic shape [{dims}]; generating for the shape the "
             f"model stores, {chosen} (as TFLite does); --input-shape {ten.name}=... chooses another")
        g = g.set_tensor(t, ten.replace(signature=ten.shape))
    return g


def _infer_shapes(g: Graph, k: int) -> Graph:
    """Every node's output shapes from its shape hook; see the module docstring."""
    work = g
    for i, node in enumerate(g.nodes):
        opdef = lookup(node, work)
        if opdef is None or opdef.shape is None:
            continue     # an op that never runs (unreachable subgraph): nothing to check
        name = _node_name(node, i, k)
        shapes = _call(name, lambda: opdef.shape(node, work))
        if len(shapes) != len(node.outputs):
            raise InvalidModelError(f"{name} has {len(node.outputs)} outputs, the op gives {len(shapes)}")
        for pos, (t, s) in enumerate(zip(node.outputs, shapes)):
            s = tuple(int(d) for d in s)
            if any(d < 0 for d in s):
                raise InvalidModelError(f"{name} computes a negative dimension {list(s)} for output {pos}")
            ten = work.tensors[t]
            if ten.shape != s:
                dynamic = ten.signature is not None and any(d < 0 for d in ten.signature)
                if not dynamic:
                    raise InvalidModelError(
                        f"{name}: output {pos} '{ten.name}' is stored with shape {list(ten.shape)}, "
                        f"but the op computes {list(s)} from its inputs")
                g = g.set_tensor(t, g.tensors[t].replace(shape=s, signature=s))
            _check_size(s, ten.dtype, f"{name}: output {pos} '{ten.name}'")
            work = work.set_tensor(t, ten.replace(shape=s))
        work = _fold(work, node, opdef, name)
    return g


def _call(name: str, fn):
    """Run a hook; any failure becomes an error that names the node."""
    try:
        return fn()
    except DlcoderError as e:
        raise type(e)(f"{name}: {e}") from None
    except (ValueError, TypeError, KeyError, IndexError, ArithmeticError, AttributeError) as e:
        raise InvalidModelError(f"{name} is malformed ({type(e).__name__}: {e})") from None


def _fold(work: Graph, node: Node, opdef, name: str) -> Graph:
    if opdef.evaluate is None:
        return work
    if sum(work.tensors[t].size for t in node.outputs) > MAX_FOLD_ELEMENTS:
        return work
    values = [work.const(t) for t in node.inputs]
    results = _call(name, lambda: opdef.evaluate(node, work, values))
    if results is None:
        return work
    for t, v in zip(node.outputs, results):
        ten = work.tensors[t]
        v = np.asarray(v)
        if v.size != ten.size:
            raise InvalidModelError(f"{name} computes {v.size} values for an output of shape "
                                    f"{list(ten.shape)}")
        work = work.set_tensor(t, ten.replace(data=v.astype(ten.dtype).reshape(ten.shape)))
    return work


def _elements(shape) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _check_size(shape, dtype: str, what: str) -> None:
    nbytes = _elements(shape) * np.dtype(dtype if dtype != "complex64" else np.complex64).itemsize
    if nbytes > MAX_BYTES:
        raise InvalidModelError(f"{what} has shape {list(shape)}: {nbytes} bytes, past the "
                                f"{MAX_BYTES}-byte limit of one tensor")


def _check_limits(g: Graph) -> None:
    total = 0
    for k, sub in enumerate((g,) + tuple(g.subgraphs)):
        for t, ten in enumerate(sub.tensors):
            _check_size(ten.shape, ten.dtype, f"tensor {t} '{ten.name}'{_where(k)}")
            if ten.is_const:
                total += ten.nbytes
    if total > MAX_BYTES:
        raise InvalidModelError(f"the weights take {total} bytes, past the {MAX_BYTES}-byte limit")
