"""WHILE and IF (dlcoder/ops/control_flow.py): end to end against the TFLite interpreter, with the
loop run zero times, with threads, in a debug build; the "unsupported" message for an op
inside a loop body; the shared Keras LSTM model. Models: tests/models/control_flow/
(make_control_flow_models.py)."""
import re

import numpy as np
import pytest

from dlcoder import compiler, verify as V, verify_cmd
from dlcoder.errors import UnsupportedError
from support import (SHARED_MODELS, TESTS, check_against_tflite, load_npz_inputs, require_shared,
                     run_ours)

CF = TESTS / "models" / "control_flow"
CASES = """while_counter_accum while_int_and_float while_passthrough while_data_dependent
    while_fibonacci while_nested keras_lstm keras_gru if_two_branches if_in_while""".split()
SHARED_LSTM = SHARED_MODELS / "lstm_text_while_f32.tflite"


def _load(case):
    model = CF / f"{case}.tflite"
    assert model.exists(), f"{model} is missing: rebuild it with tests/models/make_control_flow_models.py"
    g = compiler.load_graph(str(model))
    return model, g, load_npz_inputs(CF / f"{case}.npz", g)


def _loop_body(source: str) -> str:
    return source[source.index("for (;;) {"):source.index("\n  }\n", source.index("for (;;) {"))]


@pytest.mark.parametrize("case", CASES)
def test_against_tflite(case, tmp_path):
    model, _, inputs = _load(case)
    check_against_tflite(model, tmp_path, inputs=inputs)


@pytest.mark.parametrize("trips", [0, -3])
def test_loop_that_runs_zero_times(trips, tmp_path):
    model, g, inputs = _load("while_counter_accum")
    inputs = [np.array(trips, np.int32) if x.dtype == np.int32 else x for x in inputs]
    check_against_tflite(model, tmp_path, inputs=inputs)


@pytest.mark.parametrize("k", [0, -2, 7])
def test_if_takes_either_branch(k, tmp_path):
    model, g, inputs = _load("if_two_branches")
    inputs = [np.array(k, np.int32) if x.dtype == np.int32 else x for x in inputs]
    check_against_tflite(model, tmp_path, inputs=inputs)


def test_data_dependent_trip_count_varies(tmp_path):
    model, _, inputs = _load("while_data_dependent")
    for scale in (0.01, 3.0, 50.0):   # many iterations, a few, none
        check_against_tflite(model, tmp_path, inputs=[inputs[0] * np.float32(scale)])


def test_rotation_through_a_temporary(tmp_path):
    """(i, a, b, c) -> (i + 1, b, c, a): each result is another variable's old value.
    TFLite's interpreter copies the body's outputs into its inputs one after the other, so
    it returns two equal outputs here; the expected values are computed in numpy."""
    model, g, inputs = _load("while_rotate")
    named = {g.tensors[t].name: x for t, x in zip(g.inputs, inputs)}
    a, b, c, n = (named[f"serving_default_input_{k}:0"] for k in range(4))
    vals = [a, b, c]
    for _ in range(int(n)):
        vals = vals[1:] + vals[:1]
    ours, lib, g = run_ours(model, inputs, tmp_path)
    for t, o in zip(g.outputs, ours):
        k = int(re.search(r":(\d+)$", g.tensors[t].name).group(1))
        np.testing.assert_array_equal(o, vals[k])
    assert _loop_body(lib.files["m.cc"].decode()).count("std::memcpy(A + ") == 1   # one save


def test_pass_through_and_in_place_results_need_no_copies():
    """Per iteration, the LSTM copies back only its two int32 counters: the states are
    written in place and the input sequence is read where it is."""
    g0 = compiler.load_graph(str(CF / "keras_lstm.tflite"))
    lib, _ = compiler.compile_graph(g0, "m")
    loop = _loop_body(lib.files["m.cc"].decode())
    copies = [line for line in loop.splitlines() if "memcpy" in line]
    assert len(copies) == 2 and all(line.endswith(", 4);") for line in copies), copies


def test_threads_give_the_same_bytes(tmp_path):
    """Kernels in the body split work like anywhere else (every kernel splits here)."""
    model, g0, inputs = _load("keras_gru")
    lib, g = compiler.compile_graph(g0, "m")
    compiler.write_library(lib, str(tmp_path / "lib"))
    exe = V.build_runner(str(tmp_path / "lib"), "m", str(tmp_path),
                         flags=("-O2", "-DDLCODER_RT_MIN_TASK_MACS=1"))
    serial, _ = V.run_runner(exe, g, inputs, str(tmp_path))
    refs, _ = V.reference_run(str(model), inputs)
    assert V.compare(serial[0], refs[0]).ok
    for threads in (2, 3):
        ours, _ = V.run_runner(exe, g, inputs, str(tmp_path), threads=threads)
        assert ours[0].tobytes() == serial[0].tobytes(), f"{threads} threads"


def test_verify_per_tensor(capsys):
    """A debug build (verify --per-tensor): the WHILE is one step and the tensors around it
    read back right."""
    model = CF / "keras_lstm.tflite"
    assert verify_cmd.verify(str(model), {}, str(model.with_suffix(".npz")), per_tensor=True) == 0
    assert "every intermediate tensor matches" in capsys.readouterr().out


def test_unsupported_op_in_body_is_named():
    """Named by the validation pass, before any other work."""
    with pytest.raises(UnsupportedError, match=r"ATAN2 x1 \(first at node \d+ of subgraph 2\)"):
        compiler.load_graph(str(CF / "while_unsupported_body.tflite"))


def test_shared_keras_lstm_while(tmp_path):
    require_shared()
    g = compiler.load_graph(str(SHARED_LSTM))
    inputs = V.random_inputs(g, seed=7)
    check_against_tflite(SHARED_LSTM, tmp_path, inputs=inputs)
