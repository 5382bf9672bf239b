"""State kept from one run to the next: resource variables and CALL_ONCE (kernels in state.h).

A TFLite model that streams (a wake-word detector fed one audio frame per call) keeps its
ring buffers in resource variables. The frontend resolves each VAR_HANDLE to the variable
it names (frontend/tflite.py: _resolve_variables), so here READ_VARIABLE has no input
and ASSIGN_VARIABLE one, the value, and both name their variable in attrs["variable"].
The variables live in the persistent part of the arena (codegen/context.py: StateLayout),
which no plan reuses, and NAME_reset clears.

CALL_ONCE runs its init subgraph (which assigns the variables' first values) at the first
run after a reset, as TFLite's first Invoke does, and records that in a flag of the
persistent part: one flag per init subgraph, shared by every CALL_ONCE that names it.
"""
from __future__ import annotations

from dlcoder.ir import CTYPES, Graph, Node
from dlcoder.ops import _shapes as S
from dlcoder.ops import register
from dlcoder.ops.control_flow import emit_subgraph

_ALL = frozenset(CTYPES)


def _read_shape(node: Node, g: Graph):
    S.arity(node, 0)
    return [g.tensors[node.outputs[0]].shape]


def _assign_shape(node: Node, g: Graph):
    S.arity(node, 1, 0)
    return []


@register("READ_VARIABLE", header="state.h", dtypes=_ALL, shape=_read_shape)
def emit_read(node: Node, g: Graph, e):
    flag, offset, nbytes = e.variable(node.attrs["variable"])
    return (f"if (dlcoder_rt::read_variable(A, {flag}, {offset}, {e.dst(node.outputs[0])}, {nbytes}) != 0) "
            f"return dlcoder_rt::kStatusUnsetVariable;")


@register("ASSIGN_VARIABLE", header="state.h", dtypes=_ALL, shape=_assign_shape)
def emit_assign(node: Node, g: Graph, e):
    flag, offset, nbytes = e.variable(node.attrs["variable"])
    return f"dlcoder_rt::assign_variable(A, {flag}, {offset}, {e.src(node.inputs[0])}, {nbytes});"


# ---- CALL_ONCE ---------------------------------------------------------------------------
def _init_graph(node: Node, g: Graph) -> Graph:
    return g.subgraph(node.attrs["init_subgraph_index"])


def _check_once(node: Node, g: Graph):
    try:
        init = _init_graph(node, g)
    except (KeyError, IndexError):
        return "init_subgraph_index names no subgraph"
    if init.inputs or init.outputs:
        return "the init subgraph takes or gives tensors"
    return None


def _once_shape(node: Node, g: Graph):
    S.arity(node, 0, 0)
    if "init_subgraph_index" not in node.attrs:
        S.fail("has no init_subgraph_index")
    return []


def _once_scratch(node: Node, g: Graph, plan) -> int:
    return plan(_init_graph(node, g), set()).size


@register("CALL_ONCE", header="state.h", dtypes=_ALL, check=_check_once, shape=_once_shape,
          scratch=_once_scratch, subgraphs=True)
def emit_call_once(node: Node, g: Graph, e):
    init = _init_graph(node, g)
    sub = e.subcontext(init, e.plan_subgraph(init, set()), fixed={}, base=e.scratch_offset() or 0,
                       label=f"{e.label}{e.node}i")
    flag = e.once_flag(node.attrs["init_subgraph_index"])
    inner = emit_subgraph(init, sub, "init") + [f"A[{flag}] = 1;"]
    return [f"if (A[{flag}] == 0) {{"] + ["  " + line.replace("\n", "\n  ") for line in inner] + ["}"]

