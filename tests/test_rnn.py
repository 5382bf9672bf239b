"""UNIDIRECTIONAL_SEQUENCE_LSTM end to end against the TFLite interpreter, on the
hand-built models of tests/models/rnn/ (make_rnn_models.py): every option of TFLite's
float kernel, batch-major and time-major, batch > 1, clipping that is hit. Also: the
state inputs are variable tensors, which the frontend turns into their initial value."""
import json

import numpy as np
import pytest

from dlcoder import compiler
from dlcoder.errors import UnsupportedError
from support import TESTS, check_against_tflite, load_npz_inputs

RNN = TESTS / "models" / "rnn"
CASES = sorted(json.loads((RNN / "cases.json").read_text()))


def _load(case):
    model = RNN / f"{case}.tflite"
    g = compiler.load_graph(str(model))
    return model, g, load_npz_inputs(RNN / f"{case}.npz", g)


def test_every_case_is_listed():
    assert len(CASES) >= 6, CASES


@pytest.mark.parametrize("case", CASES)
def test_lstm_against_tflite(case, tmp_path):
    model, _, inputs = _load(case)
    check_against_tflite(model, tmp_path, inputs=inputs)


def test_state_tensors_start_at_zero():
    _, g, _ = _load("lstm_basic")
    lstm = next(n for n in g.nodes if n.op == "UNIDIRECTIONAL_SEQUENCE_LSTM")
    for t in lstm.inputs[18:20]:
        assert g.tensors[t].is_const and not np.any(g.tensors[t].data)


def test_int8_lstm_is_reported_unsupported(tmp_path):
    _, g, _ = _load("lstm_basic")
    lstm = next(n for n in g.nodes if n.op == "UNIDIRECTIONAL_SEQUENCE_LSTM")
    w = lstm.inputs[1]
    tensors = list(g.tensors)
    tensors[w] = tensors[w].replace(dtype="int8", data=np.zeros(tensors[w].shape, np.int8))
    with pytest.raises(UnsupportedError, match="UNIDIRECTIONAL_SEQUENCE_LSTM x1 .*int8"):
        compiler.compile_graph(g.replace(tensors=tuple(tensors)), "m")
