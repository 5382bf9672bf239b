"""One test per op case: tests/models/ops/<case>.tflite, built by
tests/models/make_op_models.py with TensorFlow (see cases.json for what each covers).
Each is generated, compiled, run on its committed inputs and compared with TFLite."""
import json

import pytest

from dlcoder import compiler
from dlcoder.ops import TABLE
from support import TESTS, check_against_tflite, load_npz_inputs

OPS_DIR = TESTS / "models" / "ops"
CASES = json.loads((OPS_DIR / "cases.json").read_text())


@pytest.mark.parametrize("case", sorted(CASES))
def test_op_case(case, tmp_path):
    model = OPS_DIR / f"{case}.tflite"
    g = compiler.load_graph(str(model))
    inputs = load_npz_inputs(OPS_DIR / f"{case}.npz", g)
    check_against_tflite(model, tmp_path, inputs=inputs)


def test_every_listed_op_is_in_the_table():
    """Every builtin op of the issue's list that a case exercises has a table entry."""
    used = {op for c in CASES.values() for op in c["ops"]}
    assert sorted(used - set(TABLE)) == []
