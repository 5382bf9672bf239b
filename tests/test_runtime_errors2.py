"""Divisors and RANGE scalars read at run time, and the status NAME_run returns for them.

The models are tests/models/runtime2/ (make_runtime2_models.py). Every case runs against
TFLite's builtin kernels on its own inputs, and on other inputs:
- valid ones (an overflowing lowest / -1 included): the outputs equal TFLite's byte for
  byte;
- a divisor of 0 where TFLite checks it (FLOOR_DIV, integer DIV and FLOOR_MOD): TFLite's
  invoke fails ("Division by 0"), and NAME_run returns kStatusDivisionByZero, a RANGE
  delta of 0 too;
- a RANGE whose delta leads away from its limit: TFLite's invoke fails, NAME_run returns
  kStatusShapeMismatch, as it does where TFLite resizes the output to another length.
Runs under ASan + UBSan stay defined (lowest / -1 included), and the fuzzing harness takes
such a status for a correct result, not a crash.
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dlcoder import verify as V
from dlcoder.codegen import runtime_facts
from support import (ASAN_UBSAN_FLAGS, TESTS, CompiledModel, build_exact_runner, compiled_cache,
                     sanitizer_env)
from fuzz import harness   # (support puts the checkout on sys.path)

sys.path.insert(0, str(TESTS / "models"))
import make_op_models as mop  # noqa: E402  (HandModel: no TensorFlow needed)

RUNTIME2 = TESTS / "models" / "runtime2"
CASES = json.loads((RUNTIME2 / "cases.json").read_text())
DIVISION_BY_ZERO = runtime_facts.constant("kStatusDivisionByZero")
SHAPE_MISMATCH = runtime_facts.constant("kStatusShapeMismatch")
I32_MIN, I64_MIN = -2**31, -2**63


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """Each case compiled once."""
    return compiled_cache(tmp_path_factory, lambda case, work: CompiledModel(RUNTIME2 / f"{case}.tflite", work))


def assert_same(ours, refs):
    assert len(ours) == len(refs)
    for o, r in zip(ours, refs):
        assert o.dtype == r.dtype and o.shape == r.shape and o.tobytes() == r.tobytes(), (o, r)


def test_the_status_code_is_the_documented_one():
    """model.h documents 7; generated code takes it from status.h."""
    assert DIVISION_BY_ZERO == 7


@pytest.mark.parametrize("case", sorted(CASES))
def test_case_matches_tflite(case, library):
    lib = library(case)
    refs, _ = V.reference_run(str(lib.path), lib.feeds())
    assert_same(lib.ours(lib.feeds()), refs)
    assert set(CASES[case]["ops"]) <= {n.op for n in lib.g.nodes}, "the op under test was folded"


VALID = [
    ("floor_div_int32_bcast", 0, [[I32_MIN, 7, -7, 0]] * 3, 1, [-1, 2, 2, -3]),
    ("floor_div_float", 1, [[0.5, -1e-30, 3.0], [np.inf, np.nan, -2.0]]),
    ("floor_mod_int32", 0, [[I32_MIN + 1, 2**31 - 1, -9, 9]] * 3, 1, [[-1, -2**31, 4, -4]] * 3),
    ("floor_mod_int64", 0, [I64_MIN + 1, 2**63 - 1, -9, 9, 0], 1, [-1, I64_MIN, 4, -4, 3]),
    ("floor_mod_float", 1, [[0.0, -0.0, 3.0], [np.inf, np.nan, -2.0]]),   # not checked: NaN
    ("div_int32", 0, [[I32_MIN, 2**31 - 1, -7], [7, I32_MIN, 0]], 1, [[-1, -1, 2], [-2, 1, 5]]),
    ("range_int32", 0, 0, 1, 5, 2, 1),
    ("range_int32", 0, 4, 1, -1, 2, -1),
    ("range_int32", 0, 0, 1, 2**31 - 1, 2, 2**29 - 1),       # the next value would overflow
    ("range_int64", 0, -2**62, 1, 2**62, 2, 2**61),
    ("range_int64", 0, 0, 1, 2**32 + 4, 2, 1),                # TFLite keeps the low 32 bits
    ("range_float", 0, 0.0, 1, 0.6999, 2, 0.1),
    ("range_float", 0, 7.0, 1, -0.5, 2, -1.1),
    ("range_limit_input", 0, 12),                             # ceil(12 / 2) = 6 as 11
]


@pytest.mark.parametrize("case, replaced", [(v[0], v[1:]) for v in VALID])
def test_valid_values_match_tflite(case, replaced, library):
    lib = library(case)
    feeds = lib.feeds(*replaced)
    refs, _ = V.reference_run(str(lib.path), feeds)
    assert_same(lib.ours(feeds), refs)


def test_lowest_mod_minus_one_is_zero_where_tflite_traps(library):
    """TFLite's FLOOR_MOD computes lowest % -1, which traps (SIGFPE) on x86; numpy's floor
    mod, the operation's definition, gives 0, and so does the run."""
    lib = library("floor_mod_int64")
    a, b = np.array([I64_MIN, 5, -5, 5, 5]), np.array([-1, 3, 3, -3, 5])
    (out,) = lib.ours(lib.feeds(0, a, 1, b))
    assert np.array_equal(out, np.mod(a, b))


ZERO_DIVISORS = [
    ("floor_div_int32_bcast", 1, [4, 0, 2, 3]),
    ("floor_div_float", 1, [[1.0, 2.0, 3.0], [4.0, 0.0, 6.0]]),
    ("floor_div_float", 1, [[1.0, 2.0, 3.0], [4.0, 5.0, -0.0]]),
    ("floor_mod_int32", 1, [[1] * 4, [1] * 4, [1, 1, 1, 0]]),
    ("floor_mod_int64", 1, [0, 1, 1, 1, 1]),
    ("div_int32", 1, [[1, 2, 3], [0, 5, 6]]),
    ("range_int32", 2, 0),
    ("range_float", 2, -0.0),
]


@pytest.mark.parametrize("case, arg, value", ZERO_DIVISORS)
def test_a_zero_divisor_returns_division_by_zero_where_tflite_fails(case, arg, value, library):
    lib = library(case)
    feeds = lib.feeds(arg, value)
    with pytest.raises(RuntimeError):
        V.reference_run(str(lib.path), feeds)
    assert lib.status(feeds) == DIVISION_BY_ZERO


FAILS = [   # TFLite's direction check fails: no length exists
    ("range_int32", 0, 0, 1, 5, 2, -1),
    ("range_int64", 0, 5, 1, 0, 2, 1),
    ("range_float", 0, np.nan, 1, 4.0, 2, 1.0),
    ("range_float", 0, 0.0, 1, 4.0, 2, np.nan),
    ("range_limit_input", 0, -1),
]


@pytest.mark.parametrize("case, replaced", [(f[0], f[1:]) for f in FAILS])
def test_a_range_tflite_fails_returns_shape_mismatch(case, replaced, library):
    lib = library(case)
    feeds = lib.feeds(*replaced)
    with pytest.raises(RuntimeError):
        V.reference_run(str(lib.path), feeds)
    assert lib.status(feeds) == SHAPE_MISMATCH


def tflite_output_shape(path, feeds) -> tuple:
    """The shape of output 0 after TFLite's invoke (it resizes RANGE's output to its
    length; an empty one cannot be read back, but has a shape)."""
    interp = V.reference_interpreter(str(path))
    interp.allocate_tensors()
    for d, x in zip(interp.get_input_details(), feeds):
        interp.set_tensor(d["index"], x)
    interp.invoke()
    return tuple(int(d) for d in interp.get_output_details()[0]["shape"])


RESIZED = [
    ("range_int32", 0, 0, 1, 6, 2, 1),
    ("range_int32", 0, 5, 1, 5, 2, 1),                    # empty
    ("range_int32", 0, I32_MIN, 1, 2**31 - 1, 2, 1),      # TFLite's wrapped length: 1
    ("range_int64", 0, 0, 1, 2**32 + 5, 2, 1),            # low 32 bits: 5
    ("range_float", 0, 0.0, 1, 4.9, 2, 0.7),              # 4.9f / 0.7f rounds above 7: 8
    ("range_limit_input", 0, 13),
    ("range_limit_input", 0, 0),
]


@pytest.mark.parametrize("case, replaced", [(r[0], r[1:]) for r in RESIZED])
def test_a_length_tflite_resizes_to_returns_shape_mismatch(case, replaced, library):
    lib = library(case)
    feeds = lib.feeds(*replaced)
    assert tflite_output_shape(lib.path, feeds) != lib.g.tensors[lib.g.outputs[0]].shape
    assert lib.status(feeds) == SHAPE_MISMATCH


@pytest.mark.parametrize("case, replaced", [
    ("range_float", (0, -np.inf, 1, 4.0, 2, 1.0)),        # an infinite length
    ("range_float", (0, np.inf, 1, np.inf, 2, 1.0)),      # inf - inf: NaN
    ("range_float", (0, 0.0, 1, 4294968320.0, 2, 1.0)),   # past int: INT_MIN on x86
])
def test_a_length_past_int_returns_shape_mismatch_where_tflite_fails(case, replaced, library):
    lib = library(case)
    feeds = lib.feeds(*replaced)
    with pytest.raises(RuntimeError):
        V.reference_run(str(lib.path), feeds)
    assert lib.status(feeds) == SHAPE_MISMATCH


def test_a_constant_zero_divisor_fails_every_run(tmp_path):
    """A constant divisor holding a 0 is checked like an input (TFLite fails every invoke)."""
    divisor = np.array([3, 0, -2, 5], np.int32)
    m, _ = mop.single_op("DIV", [np.array([9, 8, 7, 6], np.int32), divisor], [[4]], "DivOptions",
                         consts=(1,), out_dtypes=[np.int32], FusedActivationFunction=mop.NONE)
    path = tmp_path / "div_const_zero.tflite"
    path.write_bytes(m.build())
    lib = CompiledModel(path, tmp_path)
    feeds = [np.array([9, 8, 7, 6], np.int32)]
    with pytest.raises(RuntimeError, match="DIV"):
        V.reference_run(str(path), feeds)
    assert lib.status(feeds) == DIVISION_BY_ZERO


def test_only_divisors_that_may_be_zero_are_checked(library):
    assert "check_divisors" in library("div_int32").source
    assert "check_divisors" in library("floor_div_float").source
    assert "check_divisors" not in library("div_int32_const").source     # [3, -2, 7]
    assert "check_divisors" not in library("floor_mod_float").source     # TFLite does not


def test_the_status_comes_back_with_threads(library):
    lib = library("floor_div_int32_bcast")
    assert lib.status(lib.feeds(1, [4, 0, 2, 3]), threads=2) == DIVISION_BY_ZERO
    refs, _ = V.reference_run(str(lib.path), lib.feeds())
    assert_same(lib.ours(lib.feeds(), threads=2), refs)


SANITIZED = [
    ("floor_div_int32_bcast", (1, [4, 0, 2, 3]), DIVISION_BY_ZERO),
    ("floor_div_int32_bcast", (0, [[I32_MIN] * 4] * 3, 1, [-1, -1, 1, 1]), 0),
    ("div_int32", (0, [[I32_MIN] * 3] * 2, 1, [[-1] * 3] * 2), 0),
    ("floor_mod_int64", (0, [I64_MIN] * 5, 1, [-1] * 5), 0),
    ("range_int32", (0, I32_MIN, 1, 2**31 - 1, 2, I32_MIN), SHAPE_MISMATCH),
    ("range_int64", (0, I64_MIN, 1, 2**63 - 1, 2, 1), SHAPE_MISMATCH),
    ("range_float", (0, np.inf, 1, np.inf, 2, 1.0), SHAPE_MISMATCH),
    ("range_float", (2, 0.0), DIVISION_BY_ZERO),
]


@pytest.mark.parametrize("case, replaced, status", SANITIZED)
def test_runs_stay_defined(case, replaced, status, library, tmp_path, monkeypatch):
    """ASan + UBSan, every buffer of its exact size (fuzz/exact_runner.cc): no signed
    overflow, no trap, nothing out of bounds, whether the run returns a status or not."""
    sanitizer_env(monkeypatch)
    lib = CompiledModel(RUNTIME2 / f"{case}.tflite", tmp_path, build=_exact_runner)
    feeds = lib.feeds(*replaced)
    if status:
        with pytest.raises(V.RunFailed) as failed:
            lib.ours(feeds)
        assert failed.value.status == status, str(failed.value)
        assert "Sanitizer" not in str(failed.value) and "runtime error" not in str(failed.value)
    else:
        lib.ours(feeds)


def _exact_runner(lib_dir, name, work):
    return build_exact_runner(Path(lib_dir), name, Path(work), flags=ASAN_UBSAN_FLAGS)


# ---- the fuzz harness: a status where TFLite fails too is a result, not a crash -----------
def test_the_fuzz_harness_takes_such_a_status_for_a_result(tmp_path):
    """Random scalars make RANGE's length differ from the stored one: the sanitized run
    returns 5 with 1 and 2 threads, which is correct, not a failure."""
    outcome = harness.sanitize(RUNTIME2 / "range_int32.tflite", tmp_path)
    assert outcome.kind == "ok" and outcome.detail == f"run status {SHAPE_MISMATCH}", outcome


@pytest.mark.parametrize("exit, stderr, status", [
    (66, "run failed: 7\n", 7),
    (66, "run failed: 4\n", 4),
    (66, "run failed: 1\n", None),     # the C API's own checks: a bug of the driver
    (66, "m.cc:12: runtime error: signed integer overflow\nrun failed: 5\n", None),
    (1, "==1==ERROR: AddressSanitizer: heap-buffer-overflow\n", None),
    (-8, "", None),                    # SIGFPE
    (0, "", None),
])
def test_the_fuzz_harness_tells_a_status_from_a_crash(exit, stderr, status):
    res = subprocess.CompletedProcess(["exact_runner"], exit, "", stderr)
    assert harness.run_status(res) == status
