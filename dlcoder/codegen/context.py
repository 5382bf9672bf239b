"""What an op's emit hook sees: pointers to tensors, constants, scratch and parameters.

Storage of a tensor (after following aliases to its root):
  graph input k  -> the caller's inputs[k]   (`in{k}` in generated code)
  graph output k -> the caller's outputs[k]  (`out{k}`)
  constant       -> an offset in the weight blob (`kW`)
  anything else  -> an offset in the arena    (`A`), from the memory plan

A subgraph run by a control-flow node (ops/control_flow.py) gets a Context of its own: its
inputs and outputs are `fixed` to storage of the enclosing graph, its plan lives at `base`
inside the node's scratch, and it shares the weight blob and the declarations. The op
table sits below the planner, so the node plans its subgraphs and makes their Contexts
through its own Context: `plan_subgraph` and `subcontext`.
"""
from __future__ import annotations

import numpy as np

from dlcoder.codegen import cgen
from dlcoder.codegen.weights import WeightBlob
from dlcoder.ir import CTYPES, Graph
from dlcoder.ops import scratch_bytes
from dlcoder.plan import Plan, plan_graph


class StateLayout:
    """The persistent part of the arena (runtime state.h): its first bytes, before every
    plan, so that all of a model's entry points find its state at the same offsets. A
    magic word, a flag per init subgraph that CALL_ONCE runs and per resource variable,
    then the variables' values, each 64-byte aligned. A model without state has none
    (`size` 0)."""

    def __init__(self, g: Graph):
        inits = sorted({n.attrs["init_subgraph_index"] for graph in (g,) + tuple(g.subgraphs)
                        for n in graph.nodes if n.op == "CALL_ONCE"})
        self.once_flags = {k: 8 + i for i, k in enumerate(inits)}
        first = 8 + len(inits)
        self.variables = []          # (flag, offset, bytes) of each variable
        offset = _align(first + len(g.variables))
        for v, var in enumerate(g.variables):
            self.variables.append((first + v, offset, var.nbytes))
            offset = _align(offset + var.nbytes)
        self.size = offset if inits or g.variables else 0


def _align(x: int) -> int:
    return -(-x // 64) * 64


def plan_subgraph(g: Graph, fixed) -> Plan:
    """The memory plan of a subgraph that a control-flow node runs; `fixed`: the storage
    roots that the node places itself. The planner handed to the op table (scratch_bytes'
    `plan`): the subgraph's own control-flow nodes plan theirs with it in turn."""
    return plan_graph(g, scratch_bytes(g, plan_subgraph), fixed=fixed)


def io_storage(g: Graph) -> dict:
    """Storage root -> ('in', k) or ('out', k) of a graph's inputs and outputs (the first
    of repeated ones; an input that is also an output is read from the input)."""
    fixed = {}
    for k, t in enumerate(g.outputs):
        fixed.setdefault(g.storage_root(t), ("out", k))
    for k, t in reversed(list(enumerate(g.inputs))):
        fixed[g.storage_root(t)] = ("in", k)
    return fixed


class Context:
    def __init__(self, g: Graph, plan, blob: WeightBlob, fixed: dict = None, base: int = 0,
                 decls: list = None, label: str = "", debug: bool = False, state: StateLayout = None):
        self.g = g
        self.plan = plan
        self.blob = blob
        self.decls = [] if decls is None else decls   # namespace-scope constexpr declarations
        self.node = None         # index of the node being emitted
        self.label = label       # prefix of node numbers in declared names (subgraphs)
        self.base = base         # arena offset of this graph's plan
        self.debug = debug       # a debug build: every tensor must be readable after the run
        self.fixed = io_storage(g) if fixed is None else fixed
        self.slots = {}          # node index -> arena offset of its second task's scratch
        self.state = state if state is not None else StateLayout(g)   # the model's, shared
        self._const_offsets = {}

    # ---- tensors --------------------------------------------------------------------
    def address(self, t: int, place_const: bool = True) -> tuple:
        """(kind, where) of tensor t's bytes: ('in', k), ('out', k), ('const', off), ('arena', off).

        A constant gets its blob offset when first asked for; with place_const=False an
        unplaced constant answers ('const', None) and stays out of the blob."""
        root = self.g.storage_root(t)
        tensor = self.g.tensors[root]
        if tensor.is_const:
            if root not in self._const_offsets:
                if not place_const:
                    return "const", None
                self._const_offsets[root] = self.blob.add(tensor.data)
            return "const", self._const_offsets[root]
        if root in self.fixed:
            return self.fixed[root]
        return "arena", self.base + self.plan.offset(("tensor", root))

    def _pointer(self, t: int, const: bool) -> str:
        ct = CTYPES[self.g.tensors[t].dtype]
        kind, where = self.address(t)
        if kind == "in":
            return f"in{where}" if const else self._fail_write(t)
        if kind == "out":
            return f"out{where}"
        if kind == "const":
            return f"reinterpret_cast<const {ct}*>(kW + {where})" if const else self._fail_write(t)
        qual = "const " if const else ""
        return f"reinterpret_cast<{qual}{ct}*>(A + {where})"

    def _fail_write(self, t: int):
        raise AssertionError(f"tensor {t} is read-only but node {self.node} writes it")

    def src(self, t: int) -> str:
        """A `const T*` expression for an input tensor (nullptr for an absent one)."""
        return "nullptr" if t < 0 else self._pointer(t, const=True)

    def dst(self, t: int) -> str:
        """A `T*` expression for an output tensor."""
        return self._pointer(t, const=False)

    # ---- subgraphs that a control-flow node runs ------------------------------------
    def plan_subgraph(self, graph: Graph, fixed) -> Plan:
        """The memory plan of `graph` with the storage roots `fixed` left out of it."""
        return plan_subgraph(graph, fixed)

    def subcontext(self, graph: Graph, plan: Plan, fixed: dict, base: int, label: str) -> Context:
        """The Context of `graph`: its storage roots `fixed` to storage (address()) of this
        graph, its `plan` at arena offset `base`, `label` before its node numbers in declared
        names; it shares this one's weight blob, declarations and debug flag."""
        return Context(graph, plan, self.blob, fixed=fixed, base=base, decls=self.decls,
                       label=label, debug=self.debug, state=self.state)

    # ---- state (StateLayout) --------------------------------------------------------
    def variable(self, v: int) -> tuple:
        """(flag offset, value offset, bytes) of resource variable v in the arena."""
        return self.state.variables[v]

    def once_flag(self, init_subgraph: int) -> int:
        """The arena offset of the flag of CALL_ONCE's init subgraph `init_subgraph`."""
        return self.state.once_flags[init_subgraph]

    # ---- data made at generation time -----------------------------------------------
    def weights(self, array: np.ndarray) -> str:
        """A `const T*` to data prepared at generation time (e.g. repacked weights)."""
        array = np.asarray(array)
        ct = "double" if array.dtype == np.float64 else CTYPES[str(array.dtype)]
        return f"reinterpret_cast<const {ct}*>(kW + {self.blob.add(array)})"

    def scratch(self, ctype: str) -> str:
        """A `ctype*` to this node's scratch space (size from the op's scratch hook), or
        nullptr when the hook asked for none."""
        offset = self.scratch_offset()
        return "nullptr" if offset is None else f"reinterpret_cast<{ctype}*>(A + {offset})"

    def scratch_offset(self):
        """The arena offset of this node's scratch space, or None."""
        key = ("scratch", self.node)
        return self.base + self.plan.offset(key) if key in self.plan.offsets else None

    def par(self) -> str:
        """The Parallel (parallel.h) for this node's kernel: with the arena offset of its
        second task's scratch when the plan has one for it (`par.at`), else the run's."""
        off = self.slots.get(self.node)
        return "par" if off is None else f"par.at(A + {off})"

    def _name(self) -> str:
        # the running count keeps names unique across the graph and its subgraphs
        return f"kN{self.label}{self.node}_{len(self.decls)}"

    def param(self, ctype: str, init: str) -> str:
        """Declare `constexpr ctype kN_i = init;` and return its name."""
        name = self._name()
        self.decls.append(f"constexpr {ctype} {name} = {init};")
        return name

    def static_assert(self, condition: str, message: str) -> None:
        """Declare a compile-time check that what the generator computed by a formula of
        its own agrees with the runtime's (a drift then stops the C++ build)."""
        self.decls.append(f"static_assert({condition}, {cgen.string_literal(message)});")

    def array(self, ctype: str, values) -> str:
        """Declare a constexpr array of small parameters and return its name."""
        name = self._name()
        self.decls.append(f"constexpr {ctype} {name}[] = {cgen.array_init(values, ctype)};")
        return name
