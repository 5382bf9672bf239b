"""Audio classifiers of BirdNET's kind (issue 15), and the slices their front ends take at
bounds computed at run time.

The models (tests/models/make_audio_models.py, audio/cases.json) take a batch of
waveforms [-1, samples] and compute their spectrogram in the graph: tf.signal.stft or
frame + rfft, COMPLEX_ABS, REAL / IMAG or a CAST from complex64, a mel product, log or pow
compression, a normalization by a max computed at run time, then a small conv net. Each
generates with no flags (one note names the dynamic input and the stored batch 1) and
matches TFLite's builtin kernels within verify's float bound. At the stored batch 1 the
framing's shape arithmetic (SHAPE, SPLIT_V, FLOOR_DIV, RANGE) folds away.

Slices whose bounds are computed at run time, x[:, b:b+k], keep a static size, end - begin
(ops/_affine.py); the kernel reads b at run time and returns a status where TFLite fails:
window_at_offset and slice_at_offset take b as an input and run it in and out of range.
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from dlcoder import compiler, verify as V
from dlcoder.codegen import runtime_facts
from dlcoder.errors import UnsupportedError
from dlcoder.ir import Graph, Node, Tensor
from dlcoder.ops import TABLE
from dlcoder.ops import _affine as A
from support import ROOT, TESTS, CompiledModel, compiled_cache, const_tensor, run_ours

AUDIO = TESTS / "models" / "audio"
CASES = json.loads((AUDIO / "cases.json").read_text())
CLASSIFIERS = sorted(n for n, c in CASES.items() if not c["extra_inputs"])
OFFSETS = sorted(n for n, c in CASES.items() if c["extra_inputs"])
SHAPE_ARITHMETIC = {"SHAPE", "SPLIT_V", "FLOOR_DIV", "RANGE"}
RUNTIME_SLICES = {"loudest_window", "loudest_frames"}
OUT_OF_RANGE = runtime_facts.constant("kStatusIndexOutOfRange")
SHAPE_MISMATCH = runtime_facts.constant("kStatusShapeMismatch")


def _runtime_bounds(g) -> list:
    """The SLICE / STRIDED_SLICE nodes of a compiled graph whose bounds are not constants."""
    return [n for n in g.nodes if n.op in ("SLICE", "STRIDED_SLICE")
            and any(g.const(t) is None for t in n.inputs[1:3])]


# ---- the classifiers --------------------------------------------------------------------
@pytest.mark.parametrize("case", sorted(CASES))
def test_generates_with_no_flags_and_one_note(case, tmp_path):
    path = AUDIO / f"{case}.tflite"
    res = subprocess.run([sys.executable, "-m", "dlcoder", "generate", str(path), "--out-dir",
                          str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    wave = CASES[case]["inputs"][0]
    notes = [line for line in res.stderr.splitlines() if line.startswith("dlcoder: note:")]
    assert notes == [f"dlcoder: note: input '{wave['name']}' has a dynamic shape "
                     f"[?x{wave['shape'][1]}]; generating for the shape the model stores, "
                     f"1x{wave['shape'][1]} (as TFLite does); --input-shape "
                     f"{wave['name']}=... chooses another"]


@pytest.mark.parametrize("case", CLASSIFIERS)
def test_classifier_matches_tflite(case, tmp_path):
    path = AUDIO / f"{case}.tflite"
    g0 = compiler.load_graph(str(path), note=lambda text: None)
    inputs = V.random_inputs(g0, seed=1)
    ours, _, g = run_ours(path, inputs, tmp_path)
    refs, _ = V.reference_run(str(path), inputs)
    assert len(ours) == len(refs) == 2
    for k, (o, r) in enumerate(zip(ours, refs)):
        c = V.compare(o, r, k)
        assert c.ok, f"output {k}: max abs err {c.max_abs}, relative {c.relative}"
    # at the stored batch 1 the framing's shape arithmetic is constant
    assert not SHAPE_ARITHMETIC & {n.op for n in g.nodes}
    # and only the slices whose bounds come from values read them at run time
    assert bool(_runtime_bounds(g)) == (case in RUNTIME_SLICES)


# ---- a window at an offset that is an input ---------------------------------------------
class Library(CompiledModel):
    """An offset case compiled once, run on a normal waveform and an offset."""

    def __init__(self, case, work):
        super().__init__(AUDIO / f"{case}.tflite", work)
        self.wave = np.random.default_rng(3).standard_normal((1, 64)).astype(np.float32)

    def feeds(self, offset) -> list:
        return [self.wave, np.asarray(offset, np.int32)]


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    return compiled_cache(tmp_path_factory, Library)


IN_RANGE = [
    ("window_at_offset", 0), ("window_at_offset", 20), ("window_at_offset", 48),
    ("window_at_offset", -20),          # counts from the end: columns 44 to 59
    ("slice_at_offset", 0), ("slice_at_offset", 33), ("slice_at_offset", 48),
]


@pytest.mark.parametrize("case, offset", IN_RANGE)
def test_offset_in_range_matches_tflite(case, offset, library):
    lib = library(case)
    assert _runtime_bounds(lib.g), "the slice under test was folded away"
    refs, _ = V.reference_run(str(lib.path), lib.feeds(offset))
    ours = lib.ours(lib.feeds(offset))
    assert len(ours) == len(refs) == 1
    assert ours[0].shape == refs[0].shape and V.compare(ours[0], refs[0]).ok, (ours, refs)


FAILS = [
    # the slice runs past the end: TFLite clamps it to fewer columns, and the window's MUL
    # by 16 Hann weights then fails; we return the shape mismatch
    ("window_at_offset", 49, SHAPE_MISMATCH),
    ("window_at_offset", 64, SHAPE_MISMATCH),
    ("window_at_offset", -16, SHAPE_MISMATCH),   # from column 48 to column 0: empty
    # SLICE fails in TFLite where begin + size leaves the axis, or begin is negative
    ("slice_at_offset", 49, OUT_OF_RANGE),
    ("slice_at_offset", -1, OUT_OF_RANGE),
]


@pytest.mark.parametrize("case, offset, status", FAILS)
def test_offset_where_tflite_fails_the_run_returns_its_status(case, offset, status, library):
    lib = library(case)
    with pytest.raises(RuntimeError):
        V.reference_run(str(lib.path), lib.feeds(offset))
    assert lib.status(lib.feeds(offset)) == status


# ---- the shape rule: sizes that differences of run-time values fix ----------------------
def _graph(tensors, nodes) -> Graph:
    """Nodes over `tensors`; tensors without data that no node writes are the inputs, the
    last node's outputs the outputs."""
    written = {t for n in nodes for t in n.outputs}
    inputs = tuple(i for i, t in enumerate(tensors) if t.data is None and i not in written)
    return Graph(tensors=tuple(tensors), nodes=tuple(nodes), inputs=inputs,
                 outputs=nodes[-1].outputs)


def _scalar(name):
    return Tensor(name, (), "int32")


def _window_graph(step=1, scale=None, end_from=None):
    """x[:, b:b + 5:step] as the converter writes it: begin PACK(0, b'), end PACK(0,
    ADD(b', 5)), with b' = b * scale (MUL by a constant) or b; end_from: another input in
    place of b' in the end."""
    ts = [Tensor("x", (2, 12), "float32"), _scalar("b"), const_tensor(0), const_tensor(5),
          const_tensor(scale or 1), _scalar("b2"), _scalar("end_b"), Tensor("begin", (2,), "int32"),
          Tensor("end", (2,), "int32"), const_tensor([1, step]),
          Tensor("y", (2, 1), "float32", signature=(2, -1)), _scalar("c")]
    base = 11 if end_from else 5
    nodes = [Node("MUL", (1, 4), (5,), {"fused_activation_function": "NONE"}),
             Node("ADD", (base, 3), (6,), {"fused_activation_function": "NONE"}),
             Node("PACK", (2, 5), (7,), {"values_count": 2}),
             Node("PACK", (2, 6), (8,), {"values_count": 2}),
             Node("STRIDED_SLICE", (0, 7, 8, 9), (10,), {"begin_mask": 1, "end_mask": 1})]
    return _graph(ts, nodes)


@pytest.mark.parametrize("step, scale, size",
                         [(1, None, 5), (2, None, 3), (1, 4, 5), (-1, None, 0)])
def test_a_runtime_begin_plus_a_constant_gives_a_static_size(step, scale, size):
    g = _window_graph(step, scale)
    assert TABLE["STRIDED_SLICE"].shape(g.nodes[-1], g) == [(2, size)]


def test_bounds_whose_runtime_terms_do_not_cancel_need_a_stored_size():
    g = _window_graph(end_from=True)
    with pytest.raises(UnsupportedError, match=r"needs a constant begin \(input 1\): dim 1 of "
                                               r"the output depends on its values"):
        TABLE["STRIDED_SLICE"].shape(g.nodes[-1], g)


def test_a_slice_size_computed_as_end_minus_begin_is_static():
    """tf.slice(x, begin, end - begin): size = SUB(PACK(2, ADD(b, 3)), PACK(0, b))."""
    ts = [Tensor("x", (2, 12), "float32"), _scalar("b"), const_tensor(0), const_tensor(3),
          const_tensor(2), _scalar("e"), Tensor("begin", (2,), "int32"),
          Tensor("end", (2,), "int32"), Tensor("size", (2,), "int32"),
          Tensor("y", (1, 1), "float32", signature=(-1, -1))]
    nodes = [Node("ADD", (1, 3), (5,), {"fused_activation_function": "NONE"}),
             Node("PACK", (2, 1), (6,), {"values_count": 2}),
             Node("PACK", (4, 5), (7,), {"values_count": 2}),
             Node("SUB", (7, 6), (8,), {"fused_activation_function": "NONE"}),
             Node("SLICE", (0, 6, 8), (9,))]
    g = _graph(ts, nodes)
    assert A.values(g, 8) == [2, 3]
    assert TABLE["SLICE"].shape(g.nodes[-1], g) == [(2, 3)]


def test_forms_see_through_moves_and_casts():
    """end = CAST(RESHAPE(CONCATENATION([b + 7], [c]))), begin = CONCATENATION([b], [c]) as
    int64 -> int32: the differences are 7 and 0, the values unknown."""
    ts = [Tensor("b", (1,), "int64"), Tensor("c", (1,), "int64"), const_tensor([7], "int64"),
          Tensor("b7", (1,), "int64"), Tensor("cat", (2,), "int64"), const_tensor([2]),
          Tensor("flat", (2,), "int64"), Tensor("end", (2,), "int32"),
          Tensor("cat0", (2,), "int64"), Tensor("begin", (2,), "int32")]
    nodes = [Node("ADD", (0, 2), (3,), {"fused_activation_function": "NONE"}),
             Node("CONCATENATION", (3, 1), (4,), {"axis": 0, "fused_activation_function": "NONE"}),
             Node("RESHAPE", (4, 5), (6,)),
             Node("CAST", (6,), (7,)),
             Node("CONCATENATION", (0, 1), (8,), {"axis": 0, "fused_activation_function": "NONE"}),
             Node("CAST", (8,), (9,))]
    g = _graph(ts, nodes)
    assert A.differences(g, 7, 9) == [7, 0]
    assert A.values(g, 7) == [None, None]
