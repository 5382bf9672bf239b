"""Ops that move int8, uint8 and int16 data as bytes match TFLite byte for byte, or refuse
the models TFLite rejects (issue 13).

The models are tests/models/quantized_bytes/ (make_quantized_bytes_models.py, which says
what each case pins down): one op each, inputs holding the dtype's extremes and the zero
point. A case TFLite runs must give TFLite's bytes; a case TFLite rejects (its "rejects"
entry) must be refused with the message in its "dlcoder" entry.

Beside the models: the uint8 requantization table of CONCATENATION against TFLite for many
quantizations (no C++ compile: one interpreter run each), and its folding.
"""
import json
import re
import sys

import numpy as np
import pytest

from dlcoder import compiler, verify as V
from dlcoder.errors import DlcoderError
from dlcoder.ops.movement import requant_table
from support import TESTS, check_folding, load_npz_inputs, run_ours

sys.path.insert(0, str(TESTS / "models"))
from op_hand import HandModel  # noqa: E402

HERE = TESTS / "models" / "quantized_bytes"
INDEX = json.loads((HERE / "index.json").read_text())
RUNS = sorted(c for c in INDEX if "rejects" not in INDEX[c])
REJECTED = sorted(c for c in INDEX if "rejects" in INDEX[c])


def _model(case):
    path = HERE / f"{case}.tflite"
    assert path.exists(), f"{path} is missing: rebuild it with make_quantized_bytes_models.py"
    return path


@pytest.mark.parametrize("case", RUNS)
def test_bytes_match_tflite(case, tmp_path):
    path = _model(case)
    g0 = compiler.load_graph(str(path))
    inputs = load_npz_inputs(HERE / f"{case}.npz", g0)
    ours, _, _ = run_ours(path, inputs, tmp_path)
    refs, _ = V.reference_run(str(path), inputs)
    assert len(ours) == len(refs)
    for o, r in zip(ours, refs):
        assert o.dtype == r.dtype and o.shape == r.shape, (case, o, r)
        assert o.tobytes() == r.tobytes(), f"{case}: ours {o.ravel()} tflite {r.ravel()}"


@pytest.mark.parametrize("case", REJECTED)
def test_what_tflite_rejects_is_refused(case):
    path = _model(case)
    entry = INDEX[case]
    g_inputs = np.load(HERE / f"{case}.npz")
    with pytest.raises(RuntimeError, match=entry["rejects"].replace("(", r"\(")):
        V.reference_run(str(path), [g_inputs[f"input_{k}"] for k in range(len(g_inputs.files))])
    with pytest.raises(DlcoderError, match=entry["dlcoder"]) as err:
        compiler.compile_graph(compiler.load_graph(str(path)), "m")
    assert entry["ops"][0] in str(err.value)       # the message names the op


def test_pad_value_is_the_output_zero_point():
    """The emitted fill is the output's zero point, or the PADV2 value's own bytes."""
    for case, value in (("pad_int8_image_style", 5), ("pad_int8_generic_out_params", -7),
                        ("pad_uint8", 130), ("pad_int16", 3), ("pad_int8_not_quantized", 0),
                        ("padv2_int8_value", -3)):
        lib, _ = compiler.compile_graph(compiler.load_graph(str(_model(case))), "m")
        source = b"".join(v for k, v in lib.files.items() if k.endswith(".cc")).decode()
        fills = re.findall(r"dlcoder_rt::pad<\w+>\([^;]*, (-?\d+)\);", source)
        assert fills == [str(value)], (case, fills)


def _concat_uint8_model(path, q_in, q_out):
    """CONCATENATION of a uint8 [1, 256] input quantized q_in and a [1, 1] one of the
    output's quantization q_out."""
    m = HandModel()
    x = m.input((1, 256), np.uint8, quant=q_in)
    z = m.input((1, 1), np.uint8, quant=q_out)
    y = m.output(m._tensor((1, 257), np.uint8, quant=q_out))
    m.op("CONCATENATION", [x, z], [y], "ConcatenationOptions", Axis=1, FusedActivationFunction=0)
    path.write_bytes(m.build())


QUANTS = [((0.5, 130), (0.25, 120)), ((0.3, 7), (0.25, 120)), ((0.5, 0), (1.0, 128)),
          ((0.5, 128), (1.0, 128)), ((1.0, 0), (3.0, 0)), ((0.1, 255), (0.7, 0)),
          ((2.0, 200), (0.01, 10)), ((0.0078125, 128), (0.00390625, 0)),
          ((1 / 3, 17), (1 / 7, 250)), ((1e-3, 1), (1e-3 * 1.0000001, 1))]


@pytest.mark.parametrize("q_in,q_out", QUANTS + [
    ((float(np.float32(s)), int(z)), (float(np.float32(t)), int(w)))
    for s, z, t, w in zip(*[np.random.default_rng(13).uniform(1e-3, 2, 12),
                            np.random.default_rng(14).integers(0, 256, 12),
                            np.random.default_rng(15).uniform(1e-3, 2, 12),
                            np.random.default_rng(16).integers(0, 256, 12)])])
def test_uint8_requant_table_is_tflites(q_in, q_out, tmp_path):
    """requant_table gives what TFLite's uint8 CONCATENATION writes, for every input value."""
    path = tmp_path / "c.tflite"
    _concat_uint8_model(path, q_in, q_out)
    out, _ = V.reference_run(str(path), [np.arange(256, dtype=np.uint8).reshape(1, 256),
                                         np.zeros((1, 1), np.uint8)])
    assert out[0].ravel()[:256].tolist() == requant_table(q_in, q_out).tolist()


def test_uint8_concat_folds_with_requantization():
    """Constant inputs: the evaluate hook requantizes as the kernel does."""
    path = _model("concat_uint8_requantize")
    g = compiler.load_graph(str(path))
    check_folding(path, g, load_npz_inputs(HERE / "concat_uint8_requantize.npz", g))
