"""WHILE: a cond and a body subgraph, emitted inline as one C++ loop.

The WHILE's outputs hold the loop variables from start to end; no per-iteration work is
added beyond the subgraphs' kernels and the copies that the data flow makes necessary:

  before the loop   var_j = input_j, for every variable the body changes
  every iteration   cond's nodes; break unless its bool is true; body's nodes; copies back
  after the loop    output_j = input_j, for a variable the body passes through unchanged

- Pass-through. A variable whose body output is its own body input never changes: cond
  and body read it from the WHILE's input directly.
- In place. The body writes a new value straight into its variable's buffer when it reads
  the variable's old value only at earlier nodes and no other body output is that old
  value. Every other result lives in the body's own arena and is copied back after the
  body, in an order where a buffer is read before it is overwritten; a cycle (variables
  that rotate) is broken by saving one buffer in a temporary.
- Memory. cond and body are planned each on its own by the ordinary planner: their inputs
  are fixed to the variables' buffers (or the WHILE's inputs), in-place results to the
  variables' buffers. The two plans never run at the same time and share the WHILE's
  scratch; the temporaries follow the body's plan, which is still live while copying.
  The planner belongs to a layer above the ops: the scratch hooks get it as an argument
  (`plan`, see OpDef.subgraphs), the emit hooks from the Context (e.plan_subgraph), which
  also makes the subgraphs' Contexts (e.subcontext). This module imports neither.
- Names. The subgraphs' nodes declare their parameters like the graph's (shared list, so
  names stay unique) and see the same thread context `par`, so their kernels split work
  as anywhere else. A WHILE inside a body is the same thing one level down.
"""
from __future__ import annotations

from dataclasses import dataclass

from dlcoder.errors import UnsupportedError
from dlcoder.ir import CTYPES, Graph, Node
from dlcoder.ops import lookup, register
from dlcoder.ops import _shapes as S

ALIGN = 64


@dataclass(frozen=True)
class Loop:
    cond: Graph
    body: Graph
    invariant: tuple      # per variable: the body passes it through unchanged
    in_place: dict        # body storage root -> the variable whose buffer holds it
    cond_plan: object
    body_plan: object
    copies: tuple         # ("copy", j, ("body", t) | ("temp", k)) or ("save", k, j), in order
    temps: tuple          # arena offset (relative to the scratch) of each temporary
    size: int             # scratch bytes


def _align(x: int) -> int:
    return -(-x // ALIGN) * ALIGN


def _subgraphs(node: Node, g: Graph):
    return g.subgraph(node.attrs["cond_subgraph_index"]), g.subgraph(node.attrs["body_subgraph_index"])


def _in_place(body: Graph, invariant) -> dict:
    """Body storage roots that can be written straight into their variable's buffer."""
    first_write, last_read = {}, {}
    for step, n in enumerate(body.nodes):
        for t in n.outputs:
            first_write.setdefault(body.storage_root(t), step)
        for t in n.inputs:
            if t >= 0:
                last_read[body.storage_root(t)] = step
    in_roots = [body.storage_root(t) for t in body.inputs]
    out_roots = [body.storage_root(t) for t in body.outputs]
    old_values_read = set(in_roots) & set(out_roots)   # copied back after the body
    chosen = {}
    for j, r in enumerate(out_roots):
        if (invariant[j] or r in in_roots or r in chosen or r not in first_write
                or in_roots[j] in old_values_read):
            continue
        read, write = last_read.get(in_roots[j], -1), first_write[r]
        if read < write or (read == write and lookup(body.nodes[write], body).in_place and
                            body.tensors[in_roots[j]].shape == body.tensors[r].shape):
            chosen[r] = j
    return chosen


def _copy_order(body: Graph, invariant, in_place: dict) -> tuple:
    """Copies of the body's results into the variables' buffers, sequenced so that no
    buffer is overwritten while a later copy still reads its old value."""
    in_roots = [body.storage_root(t) for t in body.inputs]
    pending = {j: ("body", t) for j, t in enumerate(body.outputs)
               if not invariant[j] and in_place.get(body.storage_root(t)) != j}

    def reads(src):   # the variable buffer a copy source is, if it is one that copies write
        if src[0] != "body":
            return None
        r = body.storage_root(src[1])
        return in_roots.index(r) if r in in_roots and not invariant[in_roots.index(r)] else None

    order, temps = [], 0
    while pending:
        read = {reads(src) for src in pending.values()}
        ready = [j for j in sorted(pending) if j not in read]
        if not ready:     # a cycle: save one variable, then its readers read the copy
            j = min(pending)
            order.append(("save", temps, j))
            pending = {k: ("temp", temps) if reads(src) == j else src for k, src in pending.items()}
            temps += 1
            continue
        for j in ready:
            order.append(("copy", j, pending.pop(j)))
    return tuple(order)


def layout(node: Node, g: Graph, plan) -> Loop:
    """plan(subgraph, fixed storage roots) -> its memory Plan (the planner, given by the
    caller: the scratch hook's argument or the Context's plan_subgraph)."""
    cond, body = _subgraphs(node, g)
    invariant = tuple(body.storage_root(o) == body.storage_root(i)
                      for i, o in zip(body.inputs, body.outputs))
    in_place = _in_place(body, invariant)
    cond_plan = plan(cond, {cond.storage_root(t) for t in cond.inputs})
    body_plan = plan(body, {body.storage_root(t) for t in body.inputs} | set(in_place))
    copies = _copy_order(body, invariant, in_place)
    temps, end = [], _align(body_plan.size)
    for op in copies:
        if op[0] == "save":
            temps.append(end)
            end += _align(g.tensors[node.outputs[op[2]]].nbytes)
    return Loop(cond, body, invariant, in_place, cond_plan, body_plan, copies, tuple(temps),
                max(cond_plan.size, end))


def _check_subgraphs(node: Node, g: Graph, attrs) -> str:
    """Why the subgraphs the node names (by `attrs`) cannot be run, or None."""
    for attr in attrs:
        k = node.attrs.get(attr, -1)
        if not 1 <= k <= len(g.subgraphs):
            return f"{attr} {k} names no subgraph"
        called = {i for _, sub in g.subgraph(k).reachable() for i in sub.called()}
        if k in called or 0 in called:
            return f"subgraph {k} runs itself (recursion)"
    return None


def check(node: Node, g: Graph):
    why = _check_subgraphs(node, g, ("cond_subgraph_index", "body_subgraph_index"))
    if why is not None:
        return why
    cond, body = _subgraphs(node, g)
    n = len(node.inputs)
    if not (len(node.outputs) == len(cond.inputs) == len(body.inputs) == len(body.outputs) == n):
        return (f"{n} inputs, {len(node.outputs)} outputs, cond takes {len(cond.inputs)}, "
                f"body takes {len(body.inputs)} and gives {len(body.outputs)}")
    if len(set(cond.inputs)) != n or len(set(body.inputs)) != n or min(node.inputs, default=0) < 0:
        return "repeated or missing loop variables"
    for j in range(n):
        ts = [g.tensors[node.inputs[j]], g.tensors[node.outputs[j]], cond.tensors[cond.inputs[j]],
              body.tensors[body.inputs[j]], body.tensors[body.outputs[j]]]
        if len({(t.shape, t.dtype) for t in ts}) != 1:
            return (f"loop variable {j} changes shape or dtype ("
                    + ", ".join(f"{t.dtype}{list(t.shape)}" for t in ts) + ")")
    if len(cond.outputs) != 1 or cond.tensors[cond.outputs[0]].dtype != "bool" \
            or cond.tensors[cond.outputs[0]].size != 1:
        return "the condition subgraph must give one bool"
    return None


# ---- shape rules: TFLite's while.cc and if.cc Prepare ---------------------------------
def _callee(node: Node, g: Graph, attr: str) -> Graph:
    k = node.attrs.get(attr)
    if not isinstance(k, int) or not 1 <= k <= len(g.subgraphs):
        S.fail(f"{attr} {k} names no subgraph (the model has {len(g.subgraphs) + 1})")
    return g.subgraph(k)


def _agree(what: str, a, b) -> None:
    """Tensor b of a subgraph stands for tensor a: one dtype and one shape. If b's shape is
    dynamic (signature -1), TFLite would resize the subgraph; we compile it as stored."""
    if a.dtype != b.dtype:
        S.fail(f"{what} is {b.dtype}, the node's is {a.dtype}")
    if a.shape != b.shape:
        why = f"{what} has shape {list(b.shape)}, the node's {list(a.shape)}"
        if b.signature is not None and -1 in b.signature:
            raise UnsupportedError(why + " (control flow over a dynamic shape)")
        S.fail(why)


def while_shape(node: Node, g: Graph):
    """The outputs are the loop variables, shaped and typed as the inputs. cond takes them
    and gives one bool; body takes them and gives them back unchanged in dtype and shape
    (a body that changes a shape TFLite runs as dynamic, which we cannot compile)."""
    n = len(node.inputs)
    S.arity(node, n, n)
    cond, body = (_callee(node, g, a) for a in ("cond_subgraph_index", "body_subgraph_index"))
    if node.attrs["cond_subgraph_index"] == node.attrs["body_subgraph_index"]:
        S.fail("cond and body are the same subgraph")
    if (len(cond.inputs), len(cond.outputs), len(body.inputs), len(body.outputs)) != (n, 1, n, n):
        S.fail(f"{n} loop variables, but cond takes {len(cond.inputs)} and gives "
               f"{len(cond.outputs)}, body takes {len(body.inputs)} and gives {len(body.outputs)}")
    for j, (x, y) in enumerate(zip(node.inputs, node.outputs)):
        if g.tensors[x].dtype != g.tensors[y].dtype:
            S.fail(f"loop variable {j} is {g.tensors[x].dtype} in and {g.tensors[y].dtype} out")
        _agree(f"cond's input {j}", g.tensors[x], cond.tensors[cond.inputs[j]])
        _agree(f"body's input {j}", g.tensors[x], body.tensors[body.inputs[j]])
        old, new = body.tensors[body.inputs[j]], body.tensors[body.outputs[j]]
        if old.dtype != new.dtype:
            S.fail(f"body's output {j} is {new.dtype}, its input {old.dtype}")
        if old.shape != new.shape:
            raise UnsupportedError(f"the body changes loop variable {j} from shape "
                                   f"{list(old.shape)} to {list(new.shape)}")
    c = cond.tensors[cond.outputs[0]]
    if c.dtype != "bool" or c.size != 1:
        S.fail(f"cond gives {c.dtype}{list(c.shape)}, not one bool")
    return [S.in_shape(g, node, j) for j in range(n)]


def if_shape(node: Node, g: Graph):
    """Input 0 is one bool; both branches take the other inputs (one dtype and shape each)
    and give the outputs, of one shape in both (else TFLite's are dynamic)."""
    S.arity(node, max(1, len(node.inputs)), len(node.outputs))
    c = g.tensors[node.inputs[0]]
    if c.dtype != "bool" or c.size != 1:
        S.fail(f"the condition (input 0) is {c.dtype}{list(c.shape)}, not one bool")
    branches = {w: _callee(node, g, f"{w}_subgraph_index") for w in ("then", "else")}
    for w, b in branches.items():
        if (len(b.inputs), len(b.outputs)) != (len(node.inputs) - 1, len(node.outputs)):
            S.fail(f"the {w} branch takes {len(b.inputs)} and gives {len(b.outputs)}, the node "
                   f"passes {len(node.inputs) - 1} and takes {len(node.outputs)}")
        for j, (x, t) in enumerate(zip(node.inputs[1:], b.inputs)):
            _agree(f"the {w} branch's input {j}", g.tensors[x], b.tensors[t])
        for j, (y, t) in enumerate(zip(node.outputs, b.outputs)):
            if g.tensors[y].dtype != b.tensors[t].dtype:
                S.fail(f"the {w} branch's output {j} is {b.tensors[t].dtype}, the node's "
                       f"{g.tensors[y].dtype}")
    then, other = branches["then"], branches["else"]
    shapes = [then.tensors[t].shape for t in then.outputs]
    for j, (s, t) in enumerate(zip(shapes, other.outputs)):
        if s != other.tensors[t].shape:
            raise UnsupportedError(f"output {j}: the branches give shapes {list(s)} and "
                                   f"{list(other.tensors[t].shape)}")
    return shapes


def emit_subgraph(graph: Graph, ctx, what: str) -> list:
    """The statements of a subgraph run inline by a node (WHILE, IF, CALL_ONCE): each of
    its nodes' code after a `// <what> <i>: <op>` comment, emitted in `ctx`."""
    lines = []
    for i, n in enumerate(graph.nodes):
        ctx.node = i
        code = lookup(n, graph).emit(n, graph, ctx)
        lines.append(f"// {what} {i}: {n.op}")
        lines += [code] if isinstance(code, str) else list(code)
    return lines


def _read_after(g: Graph, t: int) -> bool:
    """Whether a node or the graph's outputs read tensor t (or a view of it)."""
    root = g.storage_root(t)
    return any(g.storage_root(x) == root for n in g.nodes for x in n.inputs if x >= 0) or \
        any(g.storage_root(o) == root for o in g.outputs)


def _memcpy(dst: str, src: str, nbytes: int) -> str:
    return f"std::memcpy({dst}, {src}, {nbytes});"


@register("WHILE", header="common.h", dtypes=frozenset(CTYPES), check=check,
          scratch=lambda node, g, plan: layout(node, g, plan).size, shape=while_shape,
          subgraphs=True)
def emit_while(node: Node, g: Graph, e):
    loop = layout(node, g, e.plan_subgraph)
    base = e.scratch_offset() or 0
    var = [e.address(t) for t in node.outputs]
    home = [e.address(node.inputs[j]) if inv else var[j] for j, inv in enumerate(loop.invariant)]
    label = f"{e.label}{e.node}"
    sub = {}
    for what, graph, plan in (("cond", loop.cond, loop.cond_plan), ("body", loop.body, loop.body_plan)):
        fixed = {graph.storage_root(t): home[j] for j, t in enumerate(graph.inputs)}
        if what == "body":
            fixed.update({r: var[j] for r, j in loop.in_place.items()})
        sub[what] = e.subcontext(graph, plan, fixed=fixed, base=base, label=f"{label}{what[0]}")
    nbytes = [g.tensors[t].nbytes for t in node.outputs]

    lines = [_memcpy(e.dst(node.outputs[j]), e.src(node.inputs[j]), nbytes[j])
             for j, inv in enumerate(loop.invariant) if not inv and e.address(node.inputs[j]) != var[j]]
    inner = emit_subgraph(loop.cond, sub["cond"], "cond")
    inner.append(f"if (!*{sub['cond'].src(loop.cond.outputs[0])}) break;")
    inner += emit_subgraph(loop.body, sub["body"], "body")
    for op in loop.copies:
        if op[0] == "save":
            _, k, j = op
            inner.append(_memcpy(f"A + {base + loop.temps[k]}", e.src(node.outputs[j]), nbytes[j]))
            continue
        _, j, (kind, where) = op
        if kind == "temp":
            inner.append(_memcpy(e.dst(node.outputs[j]), f"A + {base + loop.temps[where]}", nbytes[j]))
        elif sub["body"].address(where) != var[j]:
            inner.append(_memcpy(e.dst(node.outputs[j]), sub["body"].src(where), nbytes[j]))
    lines += ["for (;;) {"] + ["  " + line.replace("\n", "\n  ") for line in inner] + ["}"]
    lines += [_memcpy(e.dst(node.outputs[j]), e.src(node.inputs[j]), nbytes[j])
              for j, inv in enumerate(loop.invariant)
              if inv and (e.debug or _read_after(g, node.outputs[j]))]
    return lines


# ---- IF: one of two subgraphs on the same inputs -------------------------------------
# The branches read the IF's inputs where they are and write each result straight into
# the IF's output buffer when they compute it; a result that is an input, a constant or a
# repeat of another result is copied at the end of the branch. Both branches' plans
# share the IF's scratch.

def _branches(node: Node, g: Graph):
    return g.subgraph(node.attrs["then_subgraph_index"]), g.subgraph(node.attrs["else_subgraph_index"])


def _direct(branch: Graph) -> dict:
    """Branch storage root -> the output position it is written into directly."""
    written = {branch.storage_root(t) for n in branch.nodes for t in n.outputs}
    direct = {}
    for k, t in enumerate(branch.outputs):
        r = branch.storage_root(t)
        if r in written and r not in direct:
            direct[r] = k
    return direct


def _branch_plans(node: Node, g: Graph, plan):
    """The branches' memory plans, by the planner `plan` (see layout)."""
    plans = []
    for branch in _branches(node, g):
        fixed = {branch.storage_root(t) for t in branch.inputs} | set(_direct(branch))
        plans.append(plan(branch, fixed))
    return plans


def check_if(node: Node, g: Graph):
    why = _check_subgraphs(node, g, ("then_subgraph_index", "else_subgraph_index"))
    if why is not None:
        return why
    cond = g.tensors[node.inputs[0]]
    if cond.dtype != "bool" or cond.size != 1:
        return "the condition must be one bool"
    for name, branch in zip(("then", "else"), _branches(node, g)):
        pairs = list(zip(node.inputs[1:], branch.inputs)) + list(zip(node.outputs, branch.outputs))
        if len(branch.inputs) != len(node.inputs) - 1 or len(branch.outputs) != len(node.outputs):
            return f"the {name} branch takes or gives a different number of tensors"
        for a, b in pairs:
            ta, tb = g.tensors[a], branch.tensors[b]
            if (ta.shape, ta.dtype) != (tb.shape, tb.dtype):
                return (f"the {name} branch has {tb.dtype}{list(tb.shape)} for "
                        f"{ta.dtype}{list(ta.shape)}")
    return None


@register("IF", header="common.h", dtypes=frozenset(CTYPES), check=check_if,
          scratch=lambda node, g, plan: max(p.size for p in _branch_plans(node, g, plan)),
          shape=if_shape, subgraphs=True)
def emit_if(node: Node, g: Graph, e):
    base = e.scratch_offset() or 0
    lines = [f"if (*{e.src(node.inputs[0])}) {{"]
    for what, branch, plan in zip(("then", "else"), _branches(node, g),
                                  _branch_plans(node, g, e.plan_subgraph)):
        direct = _direct(branch)
        fixed = {branch.storage_root(t): e.address(x) for t, x in zip(branch.inputs, node.inputs[1:])}
        fixed.update({r: e.address(node.outputs[k]) for r, k in direct.items()})
        sub = e.subcontext(branch, plan, fixed=fixed, base=base,
                           label=f"{e.label}{e.node}{what[0]}")
        inner = emit_subgraph(branch, sub, what)
        inner += [_memcpy(e.dst(o), sub.src(t), g.tensors[o].nbytes)
                  for k, (t, o) in enumerate(zip(branch.outputs, node.outputs))
                  if direct.get(branch.storage_root(t)) != k]
        lines += ["  " + line.replace("\n", "\n  ") for line in inner]
        lines.append("} else {" if what == "then" else "}")
    return lines
