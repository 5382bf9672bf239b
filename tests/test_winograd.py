"""The Winograd F(4x4, 3x3) convolution end to end against the TFLite interpreter, on
tests/models/winograd/ (make_winograd_models.py): cut tiles, channel tails, both block
sizes, batch 2, VALID and a fused PAD, the fused activations, a fused residual ADD and a
fused HARD_SWISH. Each case must really take the Winograd path, and the direct_ case (a
map too small for it) must not."""
import json

import pytest

from dlcoder import compiler
from support import TESTS, check_against_tflite, load_npz_inputs

WINO = TESTS / "models" / "winograd"
CASES = sorted(json.loads((WINO / "cases.json").read_text()))


def _compile(model):
    lib, g = compiler.compile_graph(compiler.load_graph(str(model)), "m")
    return lib.files["m.cc"].decode(), g


def test_every_case_is_listed():
    assert len(CASES) >= 7, CASES


@pytest.mark.parametrize("case", CASES)
def test_winograd_against_tflite(case, tmp_path):
    model = WINO / f"{case}.tflite"
    g = compiler.load_graph(str(model))
    source, compiled = _compile(model)
    if case.startswith("direct_"):   # too few tiles to repay the filter transform
        assert "conv2d_f32_winograd" not in source and "conv2d_implicit_f32" in source
    else:
        assert source.count("conv2d_f32_winograd(") == 1, "the case does not take the Winograd path"
    assert [n.op for n in compiled.nodes] == ["CONV_2D"], "PAD, ADD or HARD_SWISH not fused"
    conv = compiled.nodes[0]
    if case == "wino_pad_conv_residual":
        assert len(conv.inputs) == 4 and conv.attrs["explicit_padding"] == (2, 0, 1, 1)
    if case == "wino_conv_hard_swish":
        assert conv.attrs["epilogue"] == "HARD_SWISH"
    check_against_tflite(model, tmp_path, inputs=load_npz_inputs(WINO / f"{case}.npz", g))
