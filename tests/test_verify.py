"""`dlcoder verify` (dlcoder/verify_cmd.py): the verdict comes from the library as it ships.

--per-tensor also builds a debug variant that keeps every tensor to the end; that build
only locates the first diverging tensor. A memory-plan bug, which the debug build cannot
have, must fail verify; and a missing or extra output must fail it, not vanish in a zip."""
import dataclasses
import re

import numpy as np

from dlcoder import plan, verify as V
from dlcoder.verify_cmd import _report_outputs, verify
from support import TESTS

CONTRACT, OPS = TESTS / "models" / "contract", TESTS / "models" / "ops"


def test_a_memory_plan_bug_fails_per_tensor_verify(monkeypatch, capsys):
    """A lifetime bug (every tensor freed right after the step that writes it) corrupts the
    planned build. The debug build keeps every tensor, so it matches TFLite everywhere:
    verify must still say FAIL, and point at the plan."""
    real = plan.arena_buffers

    def freed_too_early(g, scratch, keep_all=False, fixed=None):
        buffers = real(g, scratch, keep_all=keep_all, fixed=fixed)
        if keep_all:
            return buffers
        return [dataclasses.replace(b, last=b.first) if b.key[0] == "tensor" else b
                for b in buffers]
    monkeypatch.setattr(plan, "arena_buffers", freed_too_early)
    model = OPS / "net_lstm_cell_forget_gate_visible.tflite"   # one FC, then elementwise ops
    assert verify(str(model), {}, per_tensor=True) == 1
    out = capsys.readouterr().out
    assert "MISMATCH" in out and "verify: FAIL" in out, out
    assert "suspect the memory plan" in out and "first divergence" not in out, out


def test_a_missing_output_fails(monkeypatch, capsys):
    """TFLite reports one output more than the library: FAIL, not a pass over the others."""
    real = V.reference_run

    def one_more(model, inputs, **kw):
        refs, interp = real(model, inputs, **kw)
        return refs + [np.zeros(3, np.float32)], interp
    monkeypatch.setattr(V, "reference_run", one_more)
    assert verify(str(CONTRACT / "tiny_dense.tflite"), {}) == 1
    out = capsys.readouterr().out
    assert "outputs: ours 1, tflite 2 MISMATCH" in out and "verify: FAIL" in out, out


def test_output_and_input_counts_are_compared(capsys):
    a, b = np.ones(4, np.float32), np.arange(3, dtype=np.int32)
    assert _report_outputs([a, b], [a, b], 1, 1)
    assert not _report_outputs([a, b], [a], 1, 1)          # an extra output
    assert "outputs: ours 2, tflite 1 MISMATCH" in capsys.readouterr().out
    assert not _report_outputs([a], [a], 1, 2)             # a missing input
    assert "inputs: ours 1, tflite 2 MISMATCH" in capsys.readouterr().out
    assert not _report_outputs([a, b + 1], [a, b], 1, 1)   # a wrong value
    assert "output 1 (int32[3]): 3 of 3 elements differ, largest difference 1 LSB MISMATCH" in capsys.readouterr().out


def test_a_model_with_state_is_verified_over_a_stream(capsys):
    """A streaming model: 10 runs on one arena against one interpreter invoked 10 times,
    unless --frames says otherwise; the line per output names its worst frame."""
    model = str(TESTS / "models" / "state" / "rnn_state_int8.tflite")
    assert verify(model, {}) == 0
    out = capsys.readouterr().out
    assert "stream: 10 runs on one arena, against one TFLite interpreter invoked 10 times" in out
    assert re.search(r"frame \d+: output 0 \(int8\[1, 8\]\): 0 of 8 elements differ", out), out
    assert verify(model, {}, frames=3) == 0 and "stream: 3 runs" in capsys.readouterr().out
