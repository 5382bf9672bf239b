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
from dlcoder.passes.weight_layout import weight_layout
from dlcoder.validate import MAX_BYTES, report_unsupported, validate

DEFAULT_NAMESPACE = "dlcoder"

# --optimize-for: "budget" (the default) takes the speed layouts while the weight blob stays
# within weight_budget, else the size layouts; "speed" and "size" take theirs whatever the
# bytes (passes/weight_layout.py says which layouts these are).
OPTIMIZE_FOR = ("budget", "speed", "size")

# The size budget of a library's code and read-only data: BUDGET_RATIO times its weights as
# float32 plus BUDGET_SLACK bytes, of which CODE_ALLOWANCE are the kernels' code (mobilenet
# v2's is 460 KB, a small model's 100-300 KB) and the rest the blob's.
BUDGET_RATIO, BUDGET_SLACK, CODE_ALLOWANCE = 1.25, 2**20, 2**19


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


def float32_weight_bytes(g: Graph) -> int:
    """The bytes of the constants the graph's nodes read (its subgraphs' too), float ones
    counted as float32: the "weights as float32" that the size budget scales."""
    total = 0
    for _, sub in g.reachable():
        read = {t for node in sub.nodes for t in node.inputs if t >= 0 and sub.tensors[t].is_const}
        total += sum(sub.tensors[t].size * 4 if sub.tensors[t].dtype in ("float16", "float32")
                     else sub.tensors[t].nbytes for t in read)
    return total


def weight_budget(g: Graph) -> int:
    """The weight blob's share of the size budget (BUDGET_RATIO, BUDGET_SLACK)."""
    return int(BUDGET_RATIO * float32_weight_bytes(g)) + BUDGET_SLACK - CODE_ALLOWANCE


def compile_graph(g: Graph, name: str, namespace: str = DEFAULT_NAMESPACE,
                  keep_names: bool = False, debug: bool = False,
                  profile: bool = False, weights_f32: bool = False,
                  optimize_for: str = "budget") -> tuple[Library, Graph]:
    """weights_f32: float16 weights become float32 ones (else the GEMM kernels read them as
    float16); optimize_for: one of OPTIMIZE_FOR."""
    cgen.check_name(name)
    cgen.check_namespace(namespace)
    if optimize_for not in OPTIMIZE_FOR:
        raise ValueError(f"optimize_for must be one of {', '.join(OPTIMIZE_FOR)}, not {optimize_for!r}")
    g = pipeline.run(g)
    check_supported(g)
    laid = weight_layout(g, weights_f32, size=optimize_for == "size")
    lib = emit(laid, name, namespace, keep_names=keep_names, debug=debug, profile=profile)
    if optimize_for == "budget" and lib.weight_bytes > weight_budget(g):
        laid = weight_layout(g, weights_f32, size=True)
        lib = emit(laid, name, namespace, keep_names=keep_names, debug=debug, profile=profile)
    if lib.arena_bytes > MAX_BYTES:
        # the built-in arena is a static array, which the default code model cannot place
        raise InvalidModelError(f"the model needs an arena of {lib.arena_bytes} bytes, past "
                                f"the {MAX_BYTES}-byte limit")
    return lib, laid


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
