"""SELECT / SELECT_V2, L2_NORMALIZATION, LOCAL_RESPONSE_NORMALIZATION, SHAPE, FILL,
ZEROS_LIKE, DEQUANTIZE, QUANTIZE (dlcoder/ops/: elementwise, normalization, creation,
quantize), and the semantics fixed while
auditing the elementwise, reduction, pooling, convolution and matmul ops.

End to end against the TFLite interpreter; the evaluate hooks (constant folding) against
the same reference; the kernels behind the always-folded ops with folding switched off;
and the "unsupported" messages. Models: tests/models/ops/ (make_op_models.py, also run
by test_ops.py) and tests/models/extra/ (make_extra_models.py)."""
import numpy as np
import pytest

from dlcoder import compiler
from dlcoder.errors import UnsupportedError
from dlcoder.ir import Quant, Tensor
from support import (TESTS, check_against_tflite, check_folding, load_npz_inputs,
                     single_op_graph)

OPS, EXTRA = TESTS / "models" / "ops", TESTS / "models" / "extra"

MISC = """select_v1_rank1_cond select_v1_scalar_cond select_v2_bool_values select_v2_5d_int32
    select_v2_6d select_v2_scalar_x l2_normalization_tiny_rows lrn_r3_depth5 lrn_beta1
    lrn_beta_half shape_of_computed fill_int32_input_value fill_bool_input_value
    zeros_like_int32 zeros_like_int64 dequantize_uint8_input dequantize_int16_input
    dequantize_float16_special quantize_int8_ties quantize_uint8_ties quantize_int16_ties
    quantize_int8_near_ties""".split()
AUDIT = """div_int32_signs pow_int32 floor_div_int32_signs floor_div_float_signs
    floor_mod_int32_signs floor_mod_float_signs cast_float_to_int64 cast_int32_to_bool
    mean_int32_trunc mean_keepdims_neg_axes sum_axes_0_2 sum_int32_all_axes
    reduce_prod_keepdims reduce_max_neg_axes reduce_min_int32_keepdims reduce_any_axis1
    arg_max_ties_int64 arg_min_ties_axis0_int32 avg_pool_3x3_s2_same_7x7
    avg_pool_2x2_s2_same_5x6 max_pool_3x3_s2_same_negative max_pool_2x3_s2x1_valid
    avg_pool_relu6 tconv_3x3_s2_same_odd_out tconv_2x3_s2x1_valid conv_grouped_g3_s2
    dw_mult3_dil2_valid conv_dil_2x3_valid_batch2 fc_4d_input bmm_bcast_adj_x
    bmm_bcast_adj_y_rank div_float_by_zero add_float_overflow_relu mul_float_overflow
    pow_int32_overflow floor_div_float_near_int""".split()
# ops/ cases of this module's ops (test_ops.py runs them end to end; here: folding)
OPS_MISC = """select_same_shape select_v2_bcast select_v2_4d_bcast select_int32 shape_int32
    shape_int64 fill_float zeros_like_float dequantize_float16_input
    dequantize_int8_input""".split()


def _load(folder, case):
    model = folder / f"{case}.tflite"
    assert model.exists(), f"{model} is missing: rebuild it with tests/models/make_*_models.py"
    g = compiler.load_graph(str(model))
    return model, g, load_npz_inputs(folder / f"{case}.npz", g)


@pytest.mark.parametrize("case", MISC + AUDIT)
def test_against_tflite(case, tmp_path):
    model, _, inputs = _load(EXTRA, case)
    check_against_tflite(model, tmp_path, inputs=inputs)


FOLDABLE = [(OPS, c) for c in OPS_MISC] + [
    (EXTRA, c) for c in MISC + ["cast_float_to_int64", "cast_int32_to_bool", "mean_int32_trunc",
                                "sum_int32_all_axes", "reduce_any_axis1", "mul_float_overflow"]
    if not c.startswith(("l2_normalization", "lrn_"))]


@pytest.mark.parametrize("folder,case", FOLDABLE, ids=[f"{d.name}/{c}" for d, c in FOLDABLE])
def test_folding_matches_tflite(folder, case):
    """With the inputs made constants, the evaluate hooks must give TFLite's outputs."""
    model, g, inputs = _load(folder, case)
    check_folding(model, g, inputs)


NEVER_FOLDED = [(EXTRA, "shape_of_computed"), (EXTRA, "fill_int32_input_value"),
                (EXTRA, "zeros_like_int64"), (OPS, "shape_int64"), (OPS, "fill_float"),
                (OPS, "zeros_like_then_add")]


@pytest.mark.parametrize("folder,case", NEVER_FOLDED,
                         ids=[f"{d.name}/{c}" for d, c in NEVER_FOLDED])
def test_kernels_of_folded_ops(folder, case, tmp_path, monkeypatch):
    """SHAPE, ZEROS_LIKE and FILL fold whenever their output is small; their kernels run
    when it is too large to store. Forbid all folding to exercise them."""
    monkeypatch.setattr("dlcoder.passes.fold_constants.MAX_GROWTH", -(1 << 40))
    model, _, inputs = _load(folder, case)
    _, lib = check_against_tflite(model, tmp_path, inputs=inputs)
    source = next(v for k, v in lib.files.items() if k.endswith(".cc")).decode()
    assert "dlcoder_rt::fill<" in source or "dlcoder_rt::copy<" in source


def test_shape_of_a_computed_tensor_is_folded():
    g = compiler.load_graph(str(EXTRA / "shape_of_computed.tflite"))
    _, g = compiler.compile_graph(g, "m")
    assert [n.op for n in g.nodes] == ["ADD"]
    np.testing.assert_array_equal(g.tensors[g.outputs[0]].data, np.array([2, 3, 4], np.int64))


# ---- unsupported inputs --------------------------------------------------------------------
def _quant(scale, zero_point, axis=0):
    return Quant(np.asarray(scale, np.float32), np.asarray(zero_point, np.int64), axis)


@pytest.mark.parametrize("op,tensors,message", [
    ("DEQUANTIZE", [Tensor("x", (2, 3), "int8", quant=_quant([0.1, 0.2], [0, 0], 0)),
                    Tensor("y", (2, 3), "float32")], "per-channel quantization of the input"),
    ("DEQUANTIZE", [Tensor("x", (2, 3), "int8"), Tensor("y", (2, 3), "float32")],
     "no quantization parameters"),
    ("QUANTIZE", [Tensor("x", (2, 3), "int32", quant=_quant([0.1], [0])),
                  Tensor("y", (2, 3), "int8", quant=_quant([0.2], [1]))], "tensor 'x' is int32"),
    ("FILL", [Tensor("d", (2,), "int32"), Tensor("v", (), "float32"),
              Tensor("y", (2, 3), "float32")], "dims input must be a constant"),
    ("SELECT_V2", [Tensor("c", (3,), "int32"), Tensor("x", (3,), "float32"),
                   Tensor("y", (3,), "float32"), Tensor("o", (3,), "float32")],
     "condition must be bool"),
    ("L2_NORMALIZATION", [Tensor("x", (2, 3), "float32"), Tensor("y", (2, 3), "float32")],
     "fused activation RELU"),
])
def test_unsupported_messages_name_the_op(op, tensors, message):
    attrs = {"fused_activation_function": "RELU"} if op == "L2_NORMALIZATION" else None
    with pytest.raises(UnsupportedError, match=rf"{op} x1 .*{message}"):
        compiler.check_supported(single_op_graph(op, tensors, attrs))
