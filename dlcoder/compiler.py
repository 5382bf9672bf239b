"""The generator as a library: model file -> checked, optimised graph -> files on disk."""
from __future__ import annotations

import sys
from pathlib import Path

from dlcoder import outdir
from dlcoder.codegen import cgen
from dlcoder.codegen.emitter import Library, emit
from dlcoder.errors import InvalidModelError
from dlcoder.frontend import tflite as frontend
from dlcoder.ir import Graph
from dlcoder.ops import problem
from dlcoder.passes import pipeline
from dlcoder.validate import MAX_BYTES, report_unsupported, validate

DEFAULT_NAMESPACE = "dlcoder"


def default_name(model_path: str) -> str:
    return cgen.identifier(Path(model_path).stem)


def check_supported(g: Graph) -> None:
    """Raise one UnsupportedError that names every unsupported op with its count and the
    index of its first node, in the graph, in the subgraphs its signatures run, and in
    the subgraphs their control flow runs."""
    report_unsupported(g, problem)
    for k in g.signature_subgraphs():
        report_unsupported(g.subgraph(k), problem)


def note_on_stderr(text: str) -> None:
    """One "dlcoder: note:" line on stderr: a choice made for the user, never an error."""
    print(f"dlcoder: note: {text}", file=sys.stderr)


def load_graph(model_path: str, input_shapes: dict | None = None, note=note_on_stderr) -> Graph:
    """Read and validate a model (validate.py); input_shapes pins dynamic inputs, and
    note(text) hears of the shapes chosen for the others."""
    return validate(frontend.load(model_path), input_shapes, note)


def compile_graph(g: Graph, name: str, namespace: str = DEFAULT_NAMESPACE,
                  keep_names: bool = False, debug: bool = False,
                  profile: bool = False) -> tuple[Library, Graph]:
    cgen.check_name(name)
    cgen.check_namespace(namespace)
    g = pipeline.run(g)
    check_supported(g)
    lib = emit(g, name, namespace, keep_names=keep_names, debug=debug, profile=profile)
    if lib.arena_bytes > MAX_BYTES:
        # the built-in arena is a static array, which the default code model cannot place
        raise InvalidModelError(f"the model needs an arena of {lib.arena_bytes} bytes, past "
                                f"the {MAX_BYTES}-byte limit")
    return lib, g


def test_files(model_path: str, g0: Graph, g: Graph, lib: Library, name: str, seed: int = 0) -> dict:
    """NAME_test.cc (+ data) and NAME_benchmark.cc: the expected outputs are computed now,
    by the TFLite interpreter (builtin kernels), for inputs drawn with `seed`."""
    from dlcoder import verify
    from dlcoder.codegen.emitter import emit_test_files
    inputs = verify.random_inputs(g0, seed)
    expected, _ = verify.reference_run(model_path, inputs)
    bound = verify.float_bound(model_path, inputs, expected)
    return emit_test_files(g, name, lib.weight_bytes, inputs, expected, bound)


def write_files(files: dict, out_dir: str) -> None:
    """Replace the folder out_dir by one holding the files, never half written, and only
    if dlcoder may replace it (outdir.py: new, empty, or written by dlcoder before)."""
    outdir.write(files, out_dir)


def write_library(lib: Library, out_dir: str) -> None:
    write_files(lib.files, out_dir)
