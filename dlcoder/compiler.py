"""The generator as a library: model file -> checked, optimised graph -> files on disk."""
from __future__ import annotations

import collections
from pathlib import Path

from dlcoder import outdir
from dlcoder.codegen import cgen
from dlcoder.codegen.emitter import Library, emit
from dlcoder.errors import DynamicShapeError, UnsupportedError
from dlcoder.frontend import tflite as frontend
from dlcoder.ir import Graph
from dlcoder.ops import problem
from dlcoder.passes import pipeline
from dlcoder.shapes import pin_input_shapes

DEFAULT_NAMESPACE = "dlcoder"


def default_name(model_path: str) -> str:
    return cgen.identifier(Path(model_path).stem)


def check_supported(g: Graph) -> None:
    """Raise one UnsupportedError that names every unsupported op with its count and the
    index of its first node, in the graph and in the subgraphs its control flow runs."""
    found = collections.OrderedDict()
    for k, graph in g.reachable():
        for i, node in enumerate(graph.nodes):
            why = problem(node, graph)
            if why is None:
                continue
            key = (node.op, why)
            where = f"node {node.index if node.index >= 0 else i}" + (f" of subgraph {k}" if k else "")
            count, first = found.get(key, (0, where))
            found[key] = (count + 1, first)
    if found:
        parts = [f"{op} x{count} (first at {first}{'' if why == 'unsupported op' else ': ' + why})"
                 for (op, why), (count, first) in found.items()]
        raise UnsupportedError("unsupported: " + "; ".join(parts))


def check_static(g: Graph) -> None:
    for t in g.inputs:
        ten = g.tensors[t]
        if ten.signature is not None and any(d < 0 for d in ten.signature):
            dims = "x".join("?" if d < 0 else str(d) for d in ten.signature)
            raise DynamicShapeError(
                f"input '{ten.name}' has a dynamic shape [{dims}]; pin it with "
                f"--input-shape {ten.name}={'x'.join(str(max(d, 1)) for d in ten.signature)}")


def load_graph(model_path: str, input_shapes: dict | None = None) -> Graph:
    g = frontend.load(model_path)
    if input_shapes:
        g = pin_input_shapes(g, model_path, input_shapes)
    check_static(g)
    if any(t.signature is not None and any(d < 0 for d in t.signature)
           for t in g.tensors if not t.is_const):
        # static inputs, but intermediate shapes stored as placeholders: propagate them
        g = pin_input_shapes(g, model_path, {})
    return g


def compile_graph(g: Graph, name: str, namespace: str = DEFAULT_NAMESPACE,
                  keep_names: bool = False, debug: bool = False,
                  profile: bool = False) -> tuple[Library, Graph]:
    cgen.check_name(name)
    cgen.check_namespace(namespace)
    g = pipeline.run(g)
    check_supported(g)
    return emit(g, name, namespace, keep_names=keep_names, debug=debug, profile=profile), g


def test_files(model_path: str, g0: Graph, g: Graph, lib: Library, name: str, seed: int = 0) -> dict:
    """NAME_test.cc (+ data) and NAME_benchmark.cc: the expected outputs are computed now,
    by the TFLite interpreter (builtin kernels), for inputs drawn with `seed`."""
    from dlcoder import verify
    from dlcoder.codegen.emitter import emit_test_files
    inputs = verify.random_inputs(g0, seed)
    expected, _ = verify.reference_run(model_path, inputs)
    return emit_test_files(g, name, lib.weight_bytes, inputs, expected, verify.FLOAT_BOUND)


def write_files(files: dict, out_dir: str) -> None:
    """Replace the folder out_dir by one holding the files, never half written, and only
    if dlcoder may replace it (outdir.py: new, empty, or written by dlcoder before)."""
    outdir.write(files, out_dir)


def write_library(lib: Library, out_dir: str) -> None:
    write_files(lib.files, out_dir)
