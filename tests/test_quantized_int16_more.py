"""int16x8 RSQRT, GELU and BATCH_MATMUL (dlcoder/ops/qint16more.py) against TFLite's builtin
kernels, byte for byte, on hand-built one-op models (tests/models/op_hand.py, written to
tmp_path).

- RSQRT and GELU (exact and tanh form) see every int16 input value (RSQRT: every value
  >= 0; TFLite fails on negative ones): the whole 513-entry float table and its
  interpolation are pinned, at scales chosen at random per case.
- BATCH_MATMUL int16 x int16 -> int16: batches with broadcasting, adj_x / adj_y, a
  constant rhs; accumulators up to ~2^34, where the int64 requantization (a 16-bit
  multiplier, one rounding) and the int32 one (full multiplier, two roundings) give other
  bytes; the test checks that its inputs tell the two apart.
Beside them: the evaluate hooks fold each model to TFLite's bytes, and what TFLite refuses
(zero points other than 0, int16 SQUARED_DIFFERENCE) dlcoder refuses by name.
"""
import sys

import numpy as np
import pytest

from dlcoder import compiler, quant as Q, verify as V
from dlcoder.errors import DlcoderError
from support import TESTS, check_folding, run_ours

sys.path.insert(0, str(TESTS / "models"))
from op_hand import HandModel  # noqa: E402

I16 = np.int16


def _write(m, tmp_path, name="m"):
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(m.build())
    return path


def _matches(path, inputs, tmp_path):
    ours, _, _ = run_ours(path, inputs, tmp_path)
    refs, _ = V.reference_run(str(path), inputs)
    assert len(ours) == len(refs)
    for k, (o, r) in enumerate(zip(ours, refs)):
        assert o.dtype == r.dtype and o.shape == r.shape
        assert o.tobytes() == r.tobytes(), (
            f"output {k}: {int((o != r).sum())} of {o.size} differ; first at "
            f"{np.flatnonzero(o != r)[:5]}")
    return refs


# ---- RSQRT, GELU -----------------------------------------------------------------------
LUT_CASES = {
    # op, approximate, input scale, output scale
    "rsqrt_small_scales": ("RSQRT", False, 3.1e-6, 2.7e-3),
    "rsqrt_layernorm": ("RSQRT", False, 0.000457, 0.0001621),
    "gelu": ("GELU", False, 0.00031, 0.00029),
    "gelu_wide": ("GELU", False, 0.0041, 0.0017),
    "gelu_tanh": ("GELU", True, 0.00017, 0.00043),
}


def _lut_model(op, approximate, si, so):
    m = HandModel()
    values = np.arange(0 if op == "RSQRT" else -32768, 32768).astype(I16)
    x = m.input(values.shape, I16, quant=(si, 0))
    y = m.output(m._tensor(values.shape, I16, quant=(so, 0)))
    if op == "GELU":
        m.op("GELU", [x], [y], "GeluOptions", Approximate=approximate)
    else:
        m.op(op, [x], [y])
    return m, [values]


@pytest.mark.parametrize("case", sorted(LUT_CASES))
def test_table_ops_match_tflite(case, tmp_path):
    op, approximate, si, so = LUT_CASES[case]
    m, inputs = _lut_model(op, approximate, si, so)
    path = _write(m, tmp_path)
    (ref,) = _matches(path, inputs, tmp_path)
    # the interpolated table is not the float function rounded: the test tells them apart
    f = Q.libm_f32("sqrtf")
    x = inputs[0].astype(np.float64) * np.float32(si)
    direct = (np.where(x > 0, 1 / np.sqrt(np.maximum(x, 1e-30)), 32767 * so) if op == "RSQRT" else
              np.array([Q._f32_transform("GELU", approximate)(np.float32(v)) for v in x[::97]]))
    if op == "GELU":
        ref = ref[::97]
    assert f is not None and (np.clip(np.round(direct / so), -32768, 32767) != ref).any()
    check_folding(path, compiler.load_graph(str(path)), inputs)


# ---- BATCH_MATMUL ------------------------------------------------------------------------
BMM_CASES = {
    # lhs shape, rhs shape, adj_x, adj_y, (lhs, rhs, out) scales, rhs constant; output scales
    # ~2^18 times the operands' product keep the sums of random int16 products in range
    "batched": ((2, 5, 16), (2, 16, 7), False, False, (0.0011, 0.0007, 0.0011 * 0.0007 * 301000), False),
    "adjoints_broadcast": ((3, 1, 9, 4), (1, 2, 5, 9), True, True, (0.00031, 0.00052, 0.00031 * 0.00052 * 187000), False),
    "const_rhs_rank2": ((1, 6, 24), (24, 11), False, False, (0.0004, 0.0006, 0.0004 * 0.0006 * 263000), True),
    # power-of-two scales: a multiplier of exactly 2^-18, accumulators on exact halves
    "ties": ((1, 2, 8, 16), (1, 2, 16, 8), False, False, (2.0**-10, 2.0**-9, 2.0**-1), False),
}


def _bmm_model(case, rng):
    a_shape, b_shape, adj_x, adj_y, (sa, sb, so), const = BMM_CASES[case]
    m = HandModel()
    a_val = rng.integers(-32768, 32768, a_shape).astype(I16)
    a_val.reshape(-1)[:4] = [-32768, 32767, 0, -1]
    b_val = rng.integers(-32768, 32768, b_shape).astype(I16)
    if case == "ties":                                 # sums of multiples of 2^16: many halves
        a_val = (rng.integers(-128, 128, a_shape) * 256).astype(I16)
        b_val = (rng.integers(-128, 128, b_shape) * 256 + rng.integers(0, 2, b_shape) * 128).astype(I16)
    b_val.reshape(-1)[:2] = [-32768, -32768]
    a = m.input(a_shape, I16, quant=(sa, 0))
    b = m.const(b_val, quant=(sb, 0)) if const else m.input(b_shape, I16, quant=(sb, 0))
    rows = a_shape[-1] if adj_x else a_shape[-2]
    cols = b_shape[-2] if adj_y else b_shape[-1]
    batch = np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
    y = m.output(m._tensor(tuple(batch) + (rows, cols), I16, quant=(so, 0)))
    m.op("BATCH_MATMUL", [a, b], [y], "BatchMatMulOptions", AdjX=adj_x, AdjY=adj_y)
    inputs = [a_val] if const else [a_val, b_val]
    return m, inputs, (a_val, b_val)


@pytest.mark.parametrize("case", sorted(BMM_CASES))
def test_batch_matmul_matches_tflite(case, tmp_path):
    m, inputs, (a, b) = _bmm_model(case, np.random.default_rng(len(case)))
    path = _write(m, tmp_path)
    (ref,) = _matches(path, inputs, tmp_path)
    assert len(np.unique(ref)) > 10                      # not saturated throughout
    check_folding(path, compiler.load_graph(str(path)), inputs)


@pytest.mark.parametrize("case", ["batched", "ties"])
def test_int64_requantization_is_what_the_inputs_pin(case, tmp_path):
    """The inputs tell TFLite's int64 arithmetic from an int32 one (int32 sums, the full
    multiplier, halves away from zero): "batched" has sums beyond int32, "ties" negative
    sums on exact halves (int32 within range). A kernel doing the other would fail."""
    m, inputs, (a, b) = _bmm_model(case, np.random.default_rng(len(case)))
    path = _write(m, tmp_path)
    (ref,) = V.reference_run(str(path), inputs)[0]
    _, _, (sa, sb, so), _ = BMM_CASES[case][2:]
    acc = np.matmul(a.astype(np.int64), b.astype(np.int64))
    mult, shift = Q.quantize_multiplier(float(Q.effective_scales(sa, [sb], so)[0]))
    i64 = np.clip(Q.multiply_by_quantized_multiplier_i64(acc, mult, shift), -32768, 32767)
    i32 = np.clip(Q.multiply_by_quantized_multiplier(Q.wrap32(acc), mult, shift), -32768, 32767)
    assert (i64 == ref).all()
    differs = i32 != ref
    if case == "ties":
        differs &= np.abs(acc) < 2**31
    assert differs.any()


# ---- refusals ----------------------------------------------------------------------------
def _refused(m, tmp_path, inputs, tflite_says, dlcoder_says):
    path = _write(m, tmp_path)
    with pytest.raises(RuntimeError, match=tflite_says):
        V.reference_run(str(path), inputs)
    with pytest.raises(DlcoderError, match=dlcoder_says):
        compiler.compile_graph(compiler.load_graph(str(path)), "m")


def test_zero_points_and_squared_difference_are_refused(tmp_path):
    m = HandModel()
    a, b = m.input((2, 3), I16, quant=(0.001, 0)), m.input((3, 4), I16, quant=(0.001, 5))
    y = m.output(m._tensor((2, 4), I16, quant=(0.01, 0)))
    m.op("BATCH_MATMUL", [a, b], [y], "BatchMatMulOptions")
    x = [np.ones((2, 3), I16), np.ones((3, 4), I16)]
    _refused(m, tmp_path, x, "zero_point", "BATCH_MATMUL.*zero point")

    m = HandModel()
    a, b = m.input((2, 3), I16, quant=(0.001, 0)), m.input((2, 3), I16, quant=(0.002, 0))
    y = m.output(m._tensor((2, 3), I16, quant=(0.0001, 0)))
    m.op("SQUARED_DIFFERENCE", [a, b], [y])
    x = [np.ones((2, 3), I16), np.zeros((2, 3), I16)]
    _refused(m, tmp_path, x, "SquaredDifference only supports", "SQUARED_DIFFERENCE.*int8 quantized data only")


def test_tables_are_float32_not_double():
    """TFLite fills the int16 tables in float32: at some of the cases' scales the double
    fill (Q.lut_int16, the softmax tables' way) gives other entries, so the byte tests
    above tell the two apart."""
    import math
    si, so = LUT_CASES["gelu"][2:]
    gelu = lambda v: 0.5 * v * math.erfc(-v / math.sqrt(2))  # noqa: E731
    double = Q.lut_int16(gelu, float(np.float32(si)), 0, float(np.float32(so)), 0)
    assert (Q.gelu_int16_lut((si, 0), (so, 0), False) != double).any()
