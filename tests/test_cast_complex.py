"""CAST from and to complex64 against TFLite's builtin kernel (tests/models/cast/,
make_cast_models.py): of a complex64, the real part, cast as a float is (saturating to an
integer, NaN to its largest value; -> bool tests the real part only); to complex64, the
value as a float with imaginary part 0. The models go float32 -> complex64 -> each dtype
and each dtype -> complex64 -> float32, and a model whose input or output is complex64
(the C++ class names dlcoder_rt::Complex64). Every output byte for byte, on the models' own
inputs and on edge values (NaN, infinities, -0, values beyond every integer range, integer
extremes); the chains around RFFT2D (imaginary parts not 0) and COMPLEX_ABS within the
float bound. Constant casts fold to the same bytes."""
import json

import numpy as np
import pytest

from dlcoder import compiler, verify as V
from support import TESTS, CompiledModel, check_folding, compiled_cache, load_npz_inputs

CAST = TESTS / "models" / "cast"
CASES = json.loads((CAST / "cases.json").read_text())
ARITHMETIC = {"rfft_cast_real", "cast_to_complex_abs"}     # compared within the float bound

FLOATS = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 2.5, -2.5, 127.9, -128.5, 255.5, 256.0,
                   -32769.0, 65535.5, 3e9, -3e9, 2.0**31, -2.0**31, 2.0**63, -2.0**63, 1e30,
                   -1e30, 1e-45, 0.75, -0.999], np.float32)


def edge_values(dtype: str, shape, part: int) -> np.ndarray:
    """Part `part` of the edge values of `dtype` (the parts cover them all), of `shape`."""
    n = int(np.prod(shape))
    if dtype == "bool":
        return (np.arange(n) % 2 == part % 2).reshape(shape)
    if dtype == "float32":
        values = FLOATS
    elif dtype == "complex64":     # every edge value as a real part and as an imaginary one
        values = (FLOATS + 1j * np.roll(FLOATS, 7)).astype(np.complex64)
    else:
        info = np.iinfo(dtype)
        ints = [info.min, info.max, 0, -1, 1, info.max - 1, info.min + 1, 2**24 + 1,
                -(2**24 + 1), 2**53 + 1, 2**62 + 2**39 + 1]
        values = np.array([v for v in ints if info.min <= v <= info.max], dtype)
    return np.roll(np.resize(values, max(n, values.size)), -part * n)[:n].reshape(shape)


class Library(CompiledModel):
    """A case compiled once."""

    def __init__(self, case, work):
        super().__init__(CAST / f"{case}.tflite", work)

    def check(self, case, feeds):
        ours = self.ours(feeds)
        refs, _ = V.reference_run(str(self.path), feeds)
        assert len(ours) == len(refs)
        for k, (o, r) in enumerate(zip(ours, refs)):
            if case in ARITHMETIC:
                assert V.compare(o, r, k).ok, (o, r)
            else:
                assert o.dtype == r.dtype and o.shape == r.shape, (o, r)
                assert o.tobytes() == r.tobytes(), (feeds, o, r)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    return compiled_cache(tmp_path_factory, Library)


@pytest.mark.parametrize("case", sorted(CASES))
def test_case_matches_tflite(case, library):
    lib = library(case)
    lib.check(case, lib.inputs)
    touched = [lib.g.tensors[t].dtype for n in lib.g.nodes for t in n.inputs + n.outputs]
    assert "complex64" in touched, "the complex64 tensor was folded or cast away"


@pytest.mark.parametrize("case", sorted(c for c in CASES if c not in ARITHMETIC))
@pytest.mark.parametrize("part", [0, 1])
def test_edge_values_match_tflite(case, part, library):
    lib = library(case)
    (x,) = lib.inputs
    lib.check(case, [edge_values(str(x.dtype), x.shape, part)])


@pytest.mark.parametrize("case", ["cast_float_complex_int32", "cast_float_complex_uint8",
                                  "cast_float_complex_bool", "cast_int64_complex_float"])
def test_constant_casts_fold_to_tflite_bytes(case):
    path = CAST / f"{case}.tflite"
    g = compiler.load_graph(str(path))
    (x,) = load_npz_inputs(CAST / f"{case}.npz", g)
    check_folding(path, g, [edge_values(str(x.dtype), x.shape, 0)])


def test_float_to_int32_folds_saturating_as_tflite():
    """Not complex, but the same fold: NaN, infinities and values past int32's range."""
    path = TESTS / "models" / "ops" / "cast_float_to_int32.tflite"
    g = compiler.load_graph(str(path))
    shape = g.tensors[g.inputs[0]].shape
    check_folding(path, g, [edge_values("float32", shape, 0)])
