"""Quantized ADD, SUB, MUL, SQUARED_DIFFERENCE, MAXIMUM and MINIMUM match TFLite byte for
byte, broadcasting and fused activations included (TFLite's vector bodies and scalar tails
element by element: the *_ties and *_wide models hold inputs on which the two differ), or
refuse what TFLite rejects and what dlcoder does not reproduce (uint8 MUL above 1 on the
scalar-broadcast path). int16 MUL is the reference kernel with the multiplier of the
scales multiplied in float32 (the mul_int16_* models hold inputs on which double scales or
ties rounded up would differ).

The models are tests/models/quantized_elementwise/ (make_quantized_elementwise_models.py
says what each case pins down). Beside them: the evaluate hooks fold every case to
TFLite's bytes, and the prepare-time multipliers are TFLite's.
"""
import json
import sys

import numpy as np
import pytest

from dlcoder import compiler, quant as Q, verify as V
from dlcoder.errors import DlcoderError
from support import TESTS, check_folding, load_npz_inputs, run_ours

sys.path.insert(0, str(TESTS / "models"))

HERE = TESTS / "models" / "quantized_elementwise"
INDEX = json.loads((HERE / "index.json").read_text())
RUNS = sorted(c for c in INDEX if "rejects" not in INDEX[c] and "refused" not in INDEX[c])
REJECTED = sorted(c for c in INDEX if "rejects" in INDEX[c])
# what TFLite runs but dlcoder refuses, as not reproduced byte for byte (qelementwise.py)
REFUSED = sorted(c for c in INDEX if "refused" in INDEX[c])


def _model(case):
    path = HERE / f"{case}.tflite"
    assert path.exists(), f"{path} is missing: rebuild it with make_quantized_elementwise_models.py"
    return path


@pytest.mark.parametrize("case", RUNS)
def test_bytes_match_tflite(case, tmp_path):
    path = _model(case)
    g0 = compiler.load_graph(str(path))
    inputs = load_npz_inputs(HERE / f"{case}.npz", g0)
    ours, _, _ = run_ours(path, inputs, tmp_path)
    refs, _ = V.reference_run(str(path), inputs)
    assert len(ours) == len(refs)
    for k, (o, r) in enumerate(zip(ours, refs)):
        assert o.dtype == r.dtype and o.shape == r.shape, (case, o, r)
        assert o.tobytes() == r.tobytes(), (
            f"{case} output {k}: {int((o != r).sum())} of {o.size} differ; "
            f"ours {o.ravel()[:8]} tflite {r.ravel()[:8]}")


@pytest.mark.parametrize("case", RUNS)
def test_folds_to_tflites_bytes(case):
    """With the inputs made constants, the evaluate hooks give TFLite's outputs."""
    path = _model(case)
    g = compiler.load_graph(str(path))
    check_folding(path, g, load_npz_inputs(HERE / f"{case}.npz", g))


@pytest.mark.parametrize("case", REJECTED)
def test_what_tflite_rejects_is_refused(case):
    path = _model(case)
    entry = INDEX[case]
    data = np.load(HERE / f"{case}.npz")
    with pytest.raises(RuntimeError, match=entry["rejects"]):
        V.reference_run(str(path), [data[f"input_{k}"] for k in range(len(data.files))])
    with pytest.raises(DlcoderError, match=entry["dlcoder"]) as err:
        compiler.compile_graph(compiler.load_graph(str(path)), "m")
    assert entry["ops"][0] in str(err.value)       # the message names the op


@pytest.mark.parametrize("case", REFUSED)
def test_what_is_not_reproduced_is_refused(case):
    """TFLite runs these, dlcoder refuses them by name rather than approximate."""
    path = _model(case)
    entry = INDEX[case]
    data = np.load(HERE / f"{case}.npz")
    V.reference_run(str(path), [data[f"input_{k}"] for k in range(len(data.files))])
    with pytest.raises(DlcoderError, match=entry["refused"]) as err:
        compiler.compile_graph(compiler.load_graph(str(path)), "m")
    assert entry["ops"][0] in str(err.value)


def test_multipliers_are_tflites():
    """Spot values of the prepare-time constants, worked by hand from TFLite's Prepare."""
    # ADD: twice the larger scale 0.1; a: 0.05 / 0.1 = 0.5 = 2^30 * 2^-31 (shift 0)
    (ma, sa), (mb, sb), (mo, so) = Q.add_multipliers(0.05, 0.02, 0.04, 20)
    assert (ma, sa) == (1 << 30, 0)
    assert sb == -2 and abs(mb / 2**33 - 0.2) < 1e-7       # 0.02 as a float32
    assert so == -18 and abs(mo * 2.0**(so - 31) / (0.1 / (2**20 * 0.04)) - 1) < 1e-7
    # MUL: the scales multiplied in float, then widened
    m, s = Q.mul_multiplier(0.5, 0.25, 0.01)
    assert s == 4 and m == Q.quantize_multiplier(float(np.float32(np.float32(0.125) / np.float32(0.01))))[0]
