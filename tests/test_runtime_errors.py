"""Indices and slice bounds read at run time, and the status NAME_run returns for them.

The models are tests/models/runtime/ (make_runtime_models.py): GATHER and GATHER_ND whose
indices are an input (one inside a WHILE body), SLICE and STRIDED_SLICE whose begin, end
or size is one. Every case runs against TFLite's builtin kernels on its own inputs, and on
other inputs:
- in range: the outputs equal TFLite's byte for byte;
- an index outside its axis: TFLite's invoke fails, and NAME_run returns
  kStatusIndexOutOfRange (status.h);
- bounds that give another output shape than the library was generated for: TFLite
  resizes its output or fails, and NAME_run returns kStatusShapeMismatch;
- bounds where TFLite neither fails nor fills its output (a shrunk index past its axis, an
  `offset` slice clamped short): NAME_run returns the status, the outputs of TFLite are
  not compared.
"""
import json

import numpy as np
import pytest

from dlcoder import compiler, verify as V
from dlcoder.codegen import runtime_facts
from dlcoder.errors import UnsupportedError
from dlcoder.ir import Tensor
from dlcoder.ops import TABLE
from support import (ASAN_UBSAN_FLAGS, TESTS, CompiledModel, build_exact_runner, compiled_cache,
                     const_tensor, sanitizer_env, single_op_graph)

RUNTIME = TESTS / "models" / "runtime"
CASES = json.loads((RUNTIME / "cases.json").read_text())
OUT_OF_RANGE = runtime_facts.constant("kStatusIndexOutOfRange")
SHAPE_MISMATCH = runtime_facts.constant("kStatusShapeMismatch")
ARITHMETIC = {"gather_in_while"}    # sums rows: compared within the float bound


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """Each case compiled once."""
    return compiled_cache(tmp_path_factory, lambda case, work: CompiledModel(RUNTIME / f"{case}.tflite", work))


def assert_same(case, ours, refs):
    assert len(ours) == len(refs)
    for o, r in zip(ours, refs):
        if case in ARITHMETIC:
            assert V.compare(o, r).ok, (o, r)
        else:
            assert o.dtype == r.dtype and o.shape == r.shape and o.tobytes() == r.tobytes(), (o, r)


def test_the_status_codes_are_the_documented_ones():
    """model.h documents these numbers; generated code takes them from status.h."""
    assert (OUT_OF_RANGE, SHAPE_MISMATCH) == (4, 5)
    assert runtime_facts.constant("kStatusOk") == 0


@pytest.mark.parametrize("case", sorted(CASES))
def test_case_matches_tflite(case, library):
    lib = library(case)
    refs, _ = V.reference_run(str(lib.path), lib.feeds())
    assert_same(case, lib.ours(lib.feeds()), refs)
    tested = set(CASES[case]["ops"]) & {"GATHER", "GATHER_ND", "SLICE", "STRIDED_SLICE", "WHILE"}
    assert tested <= {n.op for n in lib.g.nodes}, "the op under test was folded away"


IN_RANGE = [
    ("gather_rows", 1, [0, 4, 4, 0]),
    ("gather_axis1_int64", 1, [4, 0]),
    ("gather_batch_dims_int8", 1, [[0, 3], [2, 2]]),
    ("gather_const_table", 0, [0, 5, 5]),
    ("gather_nd_pairs", 1, [[2, 0], [0, 3]]),
    ("gather_nd_rows_int8", 1, [[0], [2]]),
    ("gather_in_while", 1, 4),           # every row of the table
    ("gather_in_while", 1, 0),
    ("slice_runtime_begin", 1, 0),
    ("slice_runtime_begin", 1, 6),       # the last 4 columns
    ("ss_runtime_shrink", 1, 4),
    ("ss_runtime_shrink", 1, -1),        # counts from the end
    ("ss_runtime_shrink", 1, -6),        # below -dim: clamped to 0, as TFLite does
    ("ss_runtime_begin", 1, [0, 5]),     # ceil(5 / 2) = 3 columns, as stored
    ("ss_runtime_begin", 1, [0, -6]),
    ("ss_runtime_begin", 1, [5, 4]),     # begin_mask: the first entry is not read
    ("ss_runtime_end", 1, [0, -2]),
    ("ss_runtime_offset", 1, [2, 3]),
    ("ss_runtime_offset", 1, [0, 0]),
    ("slice_runtime_size", 1, [-1, 3]),  # -1: the rest of the axis
]


@pytest.mark.parametrize("case, arg, value", IN_RANGE)
def test_in_range_matches_tflite(case, arg, value, library):
    lib = library(case)
    feeds = lib.feeds(arg, value)
    refs, _ = V.reference_run(str(lib.path), feeds)
    assert_same(case, lib.ours(feeds), refs)


FAILS = [
    ("gather_rows", 1, [0, 5, 1, 1], OUT_OF_RANGE),
    ("gather_rows", 1, [0, 1, -1, 1], OUT_OF_RANGE),
    ("gather_axis1_int64", 1, [5, 0], OUT_OF_RANGE),
    ("gather_axis1_int64", 1, [0, -(2**40)], OUT_OF_RANGE),
    ("gather_batch_dims_int8", 1, [[0, 0], [0, 4]], OUT_OF_RANGE),
    ("gather_const_table", 0, [6, 0, 0], OUT_OF_RANGE),
    ("gather_nd_pairs", 1, [[0, 4], [1, 1]], OUT_OF_RANGE),   # in the flat params, not its row
    ("gather_nd_pairs", 1, [[3, 0], [0, 0]], OUT_OF_RANGE),
    ("gather_nd_pairs", 1, [[0, 0], [-1, 2]], OUT_OF_RANGE),
    ("gather_nd_rows_int8", 1, [[0], [3]], OUT_OF_RANGE),
    ("gather_in_while", 1, 5),           # the fifth iteration reads row 4 of 4
    ("slice_runtime_begin", 1, 7, OUT_OF_RANGE),
    ("slice_runtime_begin", 1, -1, OUT_OF_RANGE),
    ("slice_runtime_size", 1, [2, 5], OUT_OF_RANGE),
    ("slice_runtime_size", 1, [-2, 3], SHAPE_MISMATCH),
    ("slice_runtime_size", 1, [2, -1], SHAPE_MISMATCH),
]
FAILS = [f if len(f) == 4 else f + (OUT_OF_RANGE,) for f in FAILS]


@pytest.mark.parametrize("case, arg, value, status", FAILS)
def test_where_tflite_fails_the_run_returns_its_status(case, arg, value, status, library):
    lib = library(case)
    feeds = lib.feeds(arg, value)
    with pytest.raises(RuntimeError):
        V.reference_run(str(lib.path), feeds)
    assert lib.status(feeds) == status


def tflite_output_shape(path, feeds) -> tuple:
    """The shape of output 0 after TFLite's invoke (it resizes an output whose shape the
    inputs decide; an empty one cannot be read back, but has a shape)."""
    interp = V.reference_interpreter(str(path))
    interp.allocate_tensors()
    for d, x in zip(interp.get_input_details(), feeds):
        interp.set_tensor(d["index"], x)
    interp.invoke()
    return tuple(int(d) for d in interp.get_output_details()[0]["shape"])


RESIZED = [
    ("ss_runtime_begin", 1, [0, 3]),     # 4 columns: TFLite resizes to [2, 4]
    ("ss_runtime_begin", 1, [0, 12]),    # none
    ("ss_runtime_end", 1, [0, 7]),
    ("ss_runtime_end", 1, [0, 100]),     # clamped to the axis: 6 columns
]


@pytest.mark.parametrize("case, arg, value", RESIZED)
def test_a_shape_tflite_resizes_to_returns_shape_mismatch(case, arg, value, library):
    lib = library(case)
    feeds = lib.feeds(arg, value)
    assert tflite_output_shape(lib.path, feeds) != lib.g.tensors[lib.g.outputs[0]].shape
    assert lib.status(feeds) == SHAPE_MISMATCH


UNWRITTEN = [
    # a shrunk index past its axis: TFLite's kernel walks no element and keeps the shape
    ("ss_runtime_shrink", 1, 5, OUT_OF_RANGE),
    # offset: end = begin + [2, 3] clamped to the input gives fewer rows or columns than
    # the shape TFLite computed in Prepare from end alone, so it fills part of its output
    ("ss_runtime_offset", 1, [3, 2], SHAPE_MISMATCH),
    ("ss_runtime_offset", 1, [1, 4], SHAPE_MISMATCH),
]


@pytest.mark.parametrize("case, arg, value, status", UNWRITTEN)
def test_where_tflite_leaves_its_output_unwritten_the_run_fails(case, arg, value, status, library):
    lib = library(case)
    feeds = lib.feeds(arg, value)
    # TFLite runs, to no defined result
    assert tflite_output_shape(lib.path, feeds) == lib.g.tensors[lib.g.outputs[0]].shape
    assert lib.status(feeds) == status


def test_the_status_comes_back_with_threads(library):
    lib = library("gather_rows")
    assert lib.status(lib.feeds(1, [0, 5, 1, 1]), threads=2) == OUT_OF_RANGE
    refs, _ = V.reference_run(str(lib.path), lib.feeds())
    assert_same("gather_rows", lib.ours(lib.feeds(), threads=2), refs)


SANITIZED = [
    ("gather_nd_pairs", 1, [[0, 4], [1, 1]], OUT_OF_RANGE),
    ("gather_axis1_int64", 1, [0, -(2**40)], OUT_OF_RANGE),
    ("slice_runtime_begin", 1, 7, OUT_OF_RANGE),
    ("ss_runtime_shrink", 1, 5, OUT_OF_RANGE),
    ("ss_runtime_begin", 1, [0, 12], SHAPE_MISMATCH),
    ("ss_runtime_offset", 1, [3, 2], SHAPE_MISMATCH),
]


@pytest.mark.parametrize("case, arg, value, status", SANITIZED)
def test_a_failing_run_stays_in_bounds(case, arg, value, status, library, tmp_path, monkeypatch):
    """ASan + UBSan, every buffer of its exact size (fuzz/exact_runner.cc): a run that
    returns a status has read and written nothing out of bounds."""
    sanitizer_env(monkeypatch)
    lib = library(case)
    compiler.write_library(compiler.compile_graph(compiler.load_graph(str(lib.path)), "m")[0],
                           str(tmp_path / "lib"))
    exe = build_exact_runner(tmp_path / "lib", "m", tmp_path, flags=ASAN_UBSAN_FLAGS)
    with pytest.raises(V.RunFailed) as failed:
        V.run_runner(exe, lib.g, lib.feeds(arg, value), str(tmp_path))
    assert failed.value.status == status, str(failed.value)
    assert "Sanitizer" not in str(failed.value) and "runtime error" not in str(failed.value)


@pytest.mark.parametrize("op, params, indices", [
    ("GATHER", np.arange(6.0, dtype=np.float32).reshape(3, 2), [2, 3]),
    ("GATHER", np.arange(6.0, dtype=np.float32).reshape(3, 2), [-1]),
    ("GATHER_ND", np.arange(6.0, dtype=np.float32).reshape(3, 2), [[0, 2]]),
])
def test_constant_indices_out_of_range_are_not_folded(op, params, indices):
    """Folding them would give a value where TFLite fails: the node stays, and so does the
    run's status."""
    idx = np.asarray(indices, np.int32)
    out = (idx.shape + params.shape[1:]) if op == "GATHER" else (idx.shape[:-1] + params.shape[2:])
    g = single_op_graph(op, [const_tensor(params, "float32"), const_tensor(idx),
                             Tensor("y", out, "float32")])
    assert TABLE[op].evaluate(g.nodes[0], g, [params, idx]) is None
    good = np.zeros_like(idx)
    assert TABLE[op].evaluate(g.nodes[0], g, [params, good])[0].shape == out


def test_a_bound_known_only_at_run_time_needs_a_fixed_output_dim():
    """x[:, b:b + 4] as TF converts it: the output's dim 1 is left dynamic (-1)."""
    g = single_op_graph("STRIDED_SLICE", [
        Tensor("x", (2, 10), "float32"), Tensor("begin", (2,), "int32"), const_tensor([0, 4]),
        const_tensor([1, 1]), Tensor("y", (2, 1), "float32", signature=(2, -1))],
        {"begin_mask": 1, "end_mask": 1})
    with pytest.raises(UnsupportedError, match=r"needs a constant begin \(input 1\): dim 1 of "
                                               r"the output depends on its values"):
        TABLE["STRIDED_SLICE"].shape(g.nodes[0], g)
