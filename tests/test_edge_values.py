"""Inputs are untrusted: every op case with a float input, run on edge values.

Each case of tests/models/{ops,more,extra,rnn} whose inputs include a float tensor is built
once and run on several input sets, each compared with the TFLite builtin kernels by
verify.compare (equal infinities and NaN against NaN count as no error; any other
disagreement involving inf or NaN is a mismatch):
  - "cycle s": every float input filled, element by element, with the edge values
    0, -0, 1e4, -1e4, 90, -90, inf, -inf, NaN in turn; input k starts s * k values further,
    so that over s = 0..8 each position of a binary op sees every pair of edge values;
  - "sprinkled": the committed (ordinary) inputs with every 5th element replaced by an edge
    value, so that windows, rows and reductions mix edge values with ordinary ones (a
    softmax row with one inf, a pool window with one NaN, a layer norm with one 1e4).
Integer and bool inputs (indices, axes, conditions) keep their committed values, and so do
the float inputs in COMMITTED; the operands in NONZERO cycle the edge values without 0.

EXPECTED lists the only accepted differences: where TFLite's own result depends on where
a value sits in its vector loops. Each accepts exactly the positions its function names.

The edge model (edge_model) puts the elementwise, softmax, pool and reduction kernels side
by side on one input; its fixed input (REGRESSION_VALUES) holds the issue's cases: EXP of
89 and inf, ELU and SIGN of NaN, exact GELU at -5000 (STRICT: element by element, not
within the relative bound). test_isa.py runs it and the edge sets on every instruction-set
path, at -O2. Here the cases build with -O0 and one shared driver object, about 4x faster
on the nets; the numerics do not depend on it (no fast-math; the kernels are intrinsics).
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dlcoder import compiler, verify as V
from dlcoder.codegen.emitter import emit_test_files
from support import TESTS, load_npz_inputs

sys.path.insert(0, str(TESTS / "models"))
import make_op_models as mop  # noqa: E402  (HandModel: no TensorFlow needed)

EDGES = np.array([0.0, -0.0, 1e4, -1e4, 90.0, -90.0, np.inf, -np.inf, np.nan])
FOLDERS = ("ops", "more", "extra", "rnn")
FLAGS = ("-O0",)

# float inputs that keep their committed values: case -> why
COMMITTED = {
    "range_runtime_float": "start and delta fix the output length, which is static here",
}
# op -> operands that must not be 0: TFLite fails the invoke ("Division by 0")
NONZERO = {"FLOOR_DIV": (1,)}


# ---- accepted differences ----------------------------------------------------------------
_ACT_HI = {"NONE": np.finfo(np.float32).max, "RELU": np.finfo(np.float32).max, "RELU6": 6.0,
           "RELU_N1_TO_1": 1.0}
_TFLITE_DW_BUFFER = 4832  # floats: kAccBufferMaxSize of TFLite's float depthwise kernel
# elementwise ops that keep an element's position: a depthwise output passed through them
_POINTWISE = {"LOGISTIC", "TANH", "HARD_SWISH", "RELU", "RELU6", "ELU", "MUL", "ADD"}


def _dw_store_tail(node, g, inputs, ours, ref):
    """DEPTHWISE_CONV_2D: TFLite accumulates an output row in chunks of up to 4832 floats,
    stores each chunk four values at a time and its last (size % 4) values one by one as
    max(lo, min(hi, acc)), which turns a NaN accumulator into hi there, and only there (the
    vector store keeps NaN). We keep NaN everywhere: accepted at those positions only, also
    after elementwise ops (a swish), where TFLite then has f(hi)."""
    n, h, w, c = ref.shape
    per_chunk = _TFLITE_DW_BUFFER // c
    tail = np.zeros((w, c), bool)
    for x0 in range(0, w, per_chunk):
        size = min(per_chunk, w - x0) * c
        flat = tail[x0:x0 + size // c].reshape(-1)
        flat[size - size % 4:] = True
    tail = np.broadcast_to(tail, ref.shape)
    if node.op == "DEPTHWISE_CONV_2D":
        hi = np.float32(_ACT_HI[node.attrs.get("fused_activation_function", "NONE")])
        return np.isnan(ours) & (ref == hi) & tail
    return np.isnan(ours) & ~np.isnan(ref) & tail


def _depthwise_source(g, node):
    """The DEPTHWISE_CONV_2D that node is, or that every variable input of an elementwise
    node of the same shape comes from through _POINTWISE ops (x * logistic(x)); else None."""
    if node.op == "DEPTHWISE_CONV_2D":
        return node
    if node.op not in _POINTWISE:
        return None
    shape = g.tensors[node.outputs[0]].shape
    sources = set()
    for t in node.inputs:
        if g.tensors[t].is_const:
            continue
        producer = next((n for n in g.nodes if t in n.outputs), None)
        src = _depthwise_source(g, producer) if producer and g.tensors[t].shape == shape else None
        if src is None:
            return None
        sources.add(src.outputs[0])
    return src if len(sources) == 1 else None


def _arg_last_axis(node, g, inputs, ours, ref):
    """ARG_MAX / ARG_MIN: TFLite skips NaN along every axis but the last, and so do we. Along
    the last axis its vectorised kernel (NEON code, run through an SSE translation on x86)
    holds a row's first four elements in one vector, and from 4 elements up a NaN among
    those four gives an index that is neither the NaN's nor the largest number's (4 for
    [nan, 4, 3, 2, 1]): accepted for those rows only."""
    x = inputs[0]
    axis = int(np.asarray(g.tensors[node.inputs[1]].data).ravel()[0]) % x.ndim
    if axis != x.ndim - 1 or x.shape[-1] < 4:
        return np.zeros(ref.shape, bool)
    return np.isnan(x[..., :4]).any(axis=-1)


# op -> the positions of its graph output where a difference is accepted
EXPECTED = {
    "DEPTHWISE_CONV_2D": _dw_store_tail,
    "ARG_MAX": _arg_last_axis,
    "ARG_MIN": _arg_last_axis,
}


def accepted(g0, k: int, inputs, ours, ref):
    """The positions of output k where EXPECTED accepts a difference, or None."""
    t = g0.outputs[k]
    node = next((n for n in g0.nodes if t in n.outputs), None)
    if node is None:
        return None
    if node.op in _POINTWISE and _depthwise_source(g0, node) is not None:
        return _dw_store_tail(node, g0, inputs, ours, ref)
    return EXPECTED[node.op](node, g0, inputs, ours, ref) if node.op in EXPECTED else None


# ---- input sets and comparison --------------------------------------------------------------
def _cases():
    out = []
    for folder in FOLDERS:
        cases = json.loads((TESTS / "models" / folder / "cases.json").read_text())
        for case in sorted(cases):
            g = compiler.load_graph(str(TESTS / "models" / folder / f"{case}.tflite"))
            if any(np.issubdtype(np.dtype(g.tensors[t].dtype), np.floating) for t in g.inputs):
                out.append((folder, case))
    return out


CASES = _cases()


def edge_input_sets(case: str, g0, committed: list) -> dict:
    """name -> inputs: the cycled edge values (shifted per input) and the sprinkled set."""
    if case in COMMITTED:
        return {}
    floats = [k for k, x in enumerate(committed) if np.issubdtype(x.dtype, np.floating)]
    nonzero = {g0.inputs.index(n.inputs[i]) for n in g0.nodes for i in NONZERO.get(n.op, ())
               if n.inputs[i] in g0.inputs}
    values = {k: EDGES[2:] if k in nonzero else EDGES for k in floats}
    sets = {}
    for s in range(len(EDGES) if len(floats) > 1 else 1):
        xs = list(committed)
        for j, k in enumerate(floats):
            at = (np.arange(committed[k].size) + s * j) % len(values[k])
            xs[k] = values[k][at].astype(committed[k].dtype).reshape(committed[k].shape)
        sets[f"cycle {s}"] = xs
    xs = list(committed)
    for j, k in enumerate(floats):
        flat = committed[k].ravel().copy()
        at = np.arange(j % 5, flat.size, 5)
        flat[at] = values[k][(np.arange(at.size) + 2 * j) % len(values[k])]
        xs[k] = flat.reshape(committed[k].shape)
    sets["sprinkled"] = xs
    return sets


def mismatches(model, g0, outputs: dict, sets: dict) -> list:
    """(output index, 'set: output k: detail') for every output of every input set that
    differs from TFLite; outputs: set name -> our outputs."""
    bad = []
    for name, inputs in sets.items():
        refs, _ = V.reference_run(str(model), inputs)
        for k, (o, r) in enumerate(zip(outputs[name], refs)):
            ok = accepted(g0, k, inputs, o, r)
            c = V.compare(o if ok is None else np.where(ok, r, o), r, k)
            if not c.ok:
                bad.append((k, f"{name}: output {k}: {c.detail or f'relative error {c.relative:.3g}'}"))
    return bad


def run_sets(exe, g, sets: dict, work, emulator=()) -> dict:
    return {name: V.run_runner(exe, g, inputs, str(work), emulator=emulator)[0]
            for name, inputs in sets.items()}


@pytest.fixture(scope="session")
def driver(tmp_path_factory):
    """verify's test driver for a library named m, compiled once (-O2) and linked with every
    case: it calls only m's C API, which is the same for every model."""
    work = tmp_path_factory.mktemp("edge_driver")
    edge_model(work / "edge.tflite")
    lib, _ = compiler.compile_graph(compiler.load_graph(str(work / "edge.tflite")), "m")
    compiler.write_library(lib, str(work / "lib"))
    (work / "driver").mkdir()
    V.write_harness(str(work / "lib"), "m", str(work / "driver" / "harness.cc"))
    obj = work / "harness.o"
    flags = ("-O2", "-pthread", "-c", "-I", str(work / "lib"))
    V.compile_library(str(work / "driver"), "m", str(obj), flags=flags)
    return obj


def build(model, work, driver):
    """Generates and compiles model with FLAGS; returns (runner, loaded graph, compiled graph)."""
    g0 = compiler.load_graph(str(model))
    lib, g = compiler.compile_graph(g0, "m")
    compiler.write_library(lib, str(work / "lib"))
    exe = str(work / "runner")
    V.compile_library(str(work / "lib"), "m", exe, flags=(*FLAGS, "-pthread"),
                      extra_sources=[str(driver)])
    return exe, g0, g


@pytest.mark.parametrize("folder,case", CASES, ids=[c for _, c in CASES])
def test_edge_values_match_tflite(folder, case, driver, tmp_path):
    model = TESTS / "models" / folder / f"{case}.tflite"
    g0 = compiler.load_graph(str(model))
    sets = edge_input_sets(case, g0, load_npz_inputs(model.with_suffix(".npz"), g0))
    if not sets:
        pytest.skip(COMMITTED[case])
    exe, g0, g = build(model, tmp_path, driver)
    bad = mismatches(model, g0, run_sets(exe, g, sets, tmp_path), sets)
    assert not bad, f"{case}:\n" + "\n".join(line for _, line in bad)


# ---- the edge model --------------------------------------------------------------------------
SHAPE = (1, 4, 5, 11)  # 220 floats: a partial vector at every width; 11 channels
# the cases and both ends of exp, cycled over the input
REGRESSION_VALUES = np.array([88.72283, 88.72284, 89.0, 90.0, 1e4, np.inf, -np.inf, np.nan,
                              -87.4, -90.0, -103.9, -104.0, -1e4, -5000.0, -6.0, -5.6, -5.2,
                              -44.4, 44.4, 0.0, -0.0, 1.0, -1.0, 3.0, -3.0, 0.5], np.float32)
UNARY = [("EXP", None, {}), ("LOGISTIC", None, {}), ("TANH", None, {}), ("ELU", None, {}),
         ("HARD_SWISH", None, {}), ("GELU", "GeluOptions", {"Approximate": False}),
         ("GELU", "GeluOptions", {"Approximate": True}), ("RELU", None, {}), ("RELU6", None, {}),
         ("RELU_N1_TO_1", None, {}), ("RELU_0_TO_1", None, {}), ("ABS", None, {}), ("NEG", None, {}),
         ("SQUARE", None, {}), ("SQRT", None, {}), ("RSQRT", None, {}), ("LOG", None, {}),
         ("SIGN", None, {}), ("LEAKY_RELU", "LeakyReluOptions", {"Alpha": 0.2}),
         ("SOFTMAX", "SoftmaxOptions", {"Beta": 1.0}), ("LOG_SOFTMAX", None, {})]
BINARY = [("ADD", "AddOptions"), ("SUB", "SubOptions"), ("MUL", "MulOptions"), ("DIV", "DivOptions"),
          ("MAXIMUM", None), ("MINIMUM", None), ("SQUARED_DIFFERENCE", None), ("POW", None)]
POOLS = [("MAX_POOL_2D", mop.SAME, 3, 1, (1, 4, 5, 11)),  # op, padding, window, stride, output
         ("AVERAGE_POOL_2D", mop.SAME, 2, 2, (1, 2, 3, 11)), ("L2_POOL_2D", mop.VALID, 2, 1, (1, 3, 4, 11))]
REDUCTIONS = [("MEAN", [1, 2]), ("SUM", [3]), ("REDUCE_MAX", [3]), ("REDUCE_MIN", [1, 2]),
              ("REDUCE_PROD", [3])]
EDGE_OUTPUTS = ([op + ("/approximate" if kw.get("Approximate") else "") for op, _, kw in UNARY] +
                [op for op, _ in BINARY] + ["SWISH"] + [op for op, *_ in POOLS] +
                [op for op, _ in REDUCTIONS])
# outputs checked element by element on REGRESSION_VALUES (strict_mismatch)
STRICT = {"EXP", "ELU", "SIGN", "GELU"}


def edge_model(path) -> None:
    """Writes the edge model to path: inputs x, y of SHAPE, one output per EDGE_OUTPUTS."""
    m = mop.HandModel()
    x, y = m.input(SHAPE), m.input(SHAPE)
    for op, opts, kw in UNARY:
        m.output(m.op(op, [x], [m.tensor(SHAPE)], opts, **kw))
    for op, opts in BINARY:
        kw = {"FusedActivationFunction": mop.NONE} if opts else {}
        m.output(m.op(op, [x, y], [m.tensor(SHAPE)], opts, **kw))
    sig = m.op("LOGISTIC", [x], [m.tensor(SHAPE)])  # read only by the MUL: fused into swish
    m.output(m.op("MUL", [x, sig], [m.tensor(SHAPE)], "MulOptions", FusedActivationFunction=mop.NONE))
    for op, padding, k, stride, shape in POOLS:
        m.output(m.op(op, [x], [m.tensor(shape)], "Pool2DOptions", Padding=padding, StrideW=stride,
                      StrideH=stride, FilterWidth=k, FilterHeight=k, FusedActivationFunction=mop.NONE))
    for op, axes in REDUCTIONS:
        shape = tuple(1 if d in axes else s for d, s in enumerate(SHAPE))
        m.output(m.op(op, [x, m.const(np.array(axes, np.int32))], [m.tensor(shape)], "ReducerOptions",
                      KeepDims=True))
    Path(path).write_bytes(m.build())


def regression_inputs() -> list:
    n = int(np.prod(SHAPE))
    x = REGRESSION_VALUES[np.arange(n) % len(REGRESSION_VALUES)].reshape(SHAPE)
    y = REGRESSION_VALUES[(np.arange(n) * 7 + 3) % len(REGRESSION_VALUES)].reshape(SHAPE)
    return [x, y]


def strict_mismatch(o, r) -> str:
    """'' if every element matches: the same class (NaN, +inf, -inf, finite) and each finite
    value within 2e-6 * max(1, |tflite|) (GELU(-5000) was 4.9e-4 off, EXP(89) 3.3e38 for inf)."""
    o, r = o.astype(np.float64).ravel(), r.astype(np.float64).ravel()
    same = (o == r) | (np.isnan(o) & np.isnan(r))
    finite = np.isfinite(o) & np.isfinite(r)
    diff = np.abs(np.where(finite, o, 0) - np.where(finite, r, 0))
    bad = np.flatnonzero(~same & ~(finite & (diff <= 2e-6 * np.maximum(np.abs(r), 1.0))))
    return "" if bad.size == 0 else f"at {bad[:4].tolist()}: ours {o[bad[:4]]}, tflite {r[bad[:4]]}"


def edge_model_problems(exe, g, work, model, emulator=()) -> dict:
    """EDGE_OUTPUTS name -> problems: on REGRESSION_VALUES (STRICT ones element by element),
    then on the edge sets."""
    inputs = regression_inputs()
    ours, _ = V.run_runner(exe, g, inputs, str(work), emulator=emulator)
    refs, _ = V.reference_run(str(model), inputs)
    bad = {name: [] for name in EDGE_OUTPUTS}
    for name, o, r in zip(EDGE_OUTPUTS, ours, refs):
        c = V.compare(o, r)
        detail = strict_mismatch(o, r) if name in STRICT else ("" if c.ok else c.detail or "relative error")
        if detail:
            bad[name].append(f"regression values: {detail}")
    g0 = compiler.load_graph(str(model))
    sets = edge_input_sets("edge_model", g0, inputs)
    for k, line in mismatches(model, g0, run_sets(exe, g, sets, work, emulator=emulator), sets):
        bad[EDGE_OUTPUTS[k]].append(line)
    return bad


@pytest.fixture(scope="module")
def edge_problems(tmp_path_factory, driver):
    work = tmp_path_factory.mktemp("edge_model")
    edge_model(work / "edge.tflite")
    exe, _, g = build(work / "edge.tflite", work, driver)
    return edge_model_problems(exe, g, work, work / "edge.tflite")


@pytest.mark.parametrize("name", EDGE_OUTPUTS)
def test_edge_model(name, edge_problems):
    """One test per output of the edge model (built and run once)."""
    assert not edge_problems[name], "\n".join(edge_problems[name])


# ---- the comparison itself ------------------------------------------------------------------
def test_generated_self_test_counts_equal_infinities_as_no_error(tmp_path):
    """NAME_test.cc (--test-dir) on the edge model's regression values: TFLite's own
    outputs (inf, -inf and NaN among them) pass; with one inf of EXP's expected output made
    -inf it fails and names the position."""
    model = tmp_path / "edge.tflite"
    edge_model(model)
    lib, g = compiler.compile_graph(compiler.load_graph(str(model)), "m")
    compiler.write_library(lib, str(tmp_path / "lib"))
    inputs = regression_inputs()
    refs, _ = V.reference_run(str(model), inputs)
    flipped = [r.copy() for r in refs]
    at = int(np.flatnonzero(np.isposinf(flipped[0]))[0])
    flipped[0].ravel()[at] = -np.inf
    for name, expected, passes in (("same", refs, True), ("flipped", flipped, False)):
        t = tmp_path / name
        files = emit_test_files(g, "m", lib.weight_bytes, inputs, expected, V.FLOAT_BOUND)
        compiler.write_files(files, str(t))
        exe = str(t / "m_test")
        V.compile_library(str(tmp_path / "lib"), "m", exe, flags=(*FLAGS, "-I", str(t)),
                          extra_sources=[str(t / "m_test.cc"), str(t / "m_test_data.S")])
        res = subprocess.run([exe], capture_output=True, text=True)
        assert (res.returncode == 0) == passes, res.stdout
        if not passes:
            assert f"output 0: 1 non-finite mismatch(es), first at {at}: got inf, want -inf" in res.stdout


@pytest.mark.parametrize("ours,ref,ok", [
    ([np.inf, -np.inf, np.nan, 0.0, 1.0], [np.inf, -np.inf, np.nan, -0.0, 1.0], True),
    ([np.nan, 1.0], [2.0, 1.0], False),          # NaN against a number
    ([2.0, 1.0], [np.nan, 1.0], False),
    ([np.inf, 1.0], [-np.inf, 1.0], False),      # inf against -inf
    ([3.3e38, 1.0], [np.inf, 1.0], False),       # finite against inf: EXP(89) before the fix
    ([1.00001, 2.0], [1.0, 2.0], True),          # finite values: the relative bound
    ([1.001, 2.0], [1.0, 2.0], False),
])
def test_compare_counts_equal_values_as_no_error(ours, ref, ok):
    c = V.compare(np.array(ours, np.float32), np.array(ref, np.float32))
    assert c.ok == ok
    assert bool(c.detail) == (not ok and not np.isfinite(ours + ref).all())
