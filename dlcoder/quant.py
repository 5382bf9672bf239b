"""Quantization arithmetic, in numpy: what TFLite computes when it prepares a quantized op,
and the integer steps its kernels take, so that generated code can take the same ones.

This is the one place that computes prepare-time quantities: the multiplier and shift of
a real scale (`quantize_multiplier`, TFLite's QuantizeMultiplier), the fused activation's
range in the quantized domain, and the tables of ops that map one byte to another. The
per-run integer steps (`multiply_by_quantized_multiplier` and its parts) mirror
runtime/dlcoder_rt/requantize.h, so a table computed here equals what a kernel computes.

Rounding, as the pip build of ai-edge-litert does it (found by experiment; the tests
tests/test_requantize.py and test_quantized_*.py pin it down): a multiplier is applied with
TFLite's "double rounding" (a saturating rounding doubling high multiply, then a rounding
right shift), not the single rounding that TFLITE_SINGLE_ROUNDING selects. The right shift
rounds half away from zero in TFLite's scalar code and half up in its vector loops (NEON,
NEON_2_SSE on x86); runtime/dlcoder_rt/requantize.h says which ops take which.

A pure module: it reads Tensors (dlcoder.ir) and returns numbers and arrays, and knows
nothing of the op table, the passes or the emitter, so every layer can import it.
"""
from __future__ import annotations

import math

import numpy as np

INT_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767),
             "int32": (-2**31, 2**31 - 1)}


def dequantize(t) -> np.ndarray:
    """The float32 value of a constant float16 or affine-quantized tensor."""
    if t.dtype == "float16":
        return t.data.astype(np.float32)
    q = t.quant
    values = t.data.astype(np.float32)
    if q is None:
        return values
    scale, zp = q.scales(), q.zero_points().astype(np.float32)
    if scale.size > 1:
        shape = [1] * values.ndim
        shape[q.axis] = scale.size
        scale, zp = scale.reshape(shape), zp.reshape(shape)
    return ((values - zp) * scale).astype(np.float32)


# ---- prepare time --------------------------------------------------------------------
def round_half_away(x: float) -> int:
    """C's std::round (TfLiteRound): halves away from zero."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def quantize_multiplier(real: float) -> tuple:
    """(multiplier, shift) with real ~= multiplier * 2**(shift - 31), multiplier a Q0.31 in
    [2**30, 2**31): TFLite's QuantizeMultiplier, from the double `real`. A real so small
    that every bit would shift out gives (0, 0)."""
    if real == 0.0:
        return 0, 0
    fraction, shift = math.frexp(real)
    q = round_half_away(fraction * (1 << 31))
    if q == 1 << 31:
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q, shift


def quantize_multipliers(reals) -> tuple:
    """quantize_multiplier of each value: (int32 multipliers, int32 shifts) arrays."""
    pairs = [quantize_multiplier(float(r)) for r in np.ravel(reals)]
    return (np.array([m for m, _ in pairs], np.int32), np.array([s for _, s in pairs], np.int32))


def effective_scales(input_scale: float, weight_scales, output_scale: float) -> np.ndarray:
    """input * weight / output per output channel, in double from the float32 scales as
    TFLite's PopulateConvolutionQuantizationParams computes them."""
    w = np.asarray(weight_scales, np.float32).astype(np.float64)
    return np.float64(np.float32(input_scale)) * w / np.float64(np.float32(output_scale))


def activation_range(activation: str, scale: float, zero_point: int, dtype: str) -> tuple:
    """The fused activation's [min, max] in the output's quantized domain: TFLite's
    CalculateActivationRangeQuantized (the bound quantized with float32 division and
    std::round, then clipped to the dtype)."""
    lo, hi = INT_RANGE[dtype]

    def q(v: float) -> int:
        return zero_point + round_half_away(float(np.float32(v) / np.float32(scale)))
    if activation in (None, "NONE"):
        return lo, hi
    if activation == "RELU":
        return max(lo, q(0.0)), hi
    if activation == "RELU6":
        return max(lo, q(0.0)), min(hi, q(6.0))
    if activation == "RELU_N1_TO_1":
        return max(lo, q(-1.0)), min(hi, q(1.0))
    raise ValueError(f"no quantized range for fused activation {activation}")


# ---- the per-run integer steps (requantize.h) ------------------------------------------
def _i64(x) -> np.ndarray:
    return np.asarray(x, np.int64)


def saturating_rounding_doubling_high_mul(a, b) -> np.ndarray:
    """gemmlowp's SaturatingRoundingDoublingHighMul on int32 values (int64 arrays)."""
    a, b = _i64(a), _i64(b)
    overflow = (a == b) & (a == -2**31)
    ab = a * b                                      # |ab| <= 2**62: exact in int64
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    # C++ divides int64 toward zero: (ab + nudge) / 2**31
    s = ab + nudge
    high = np.where(s >= 0, s >> 31, -((-s) >> 31))
    return np.where(overflow, 2**31 - 1, high)


def rounding_divide_by_pot(x, exponent) -> np.ndarray:
    """gemmlowp's RoundingDivideByPOT: x / 2**exponent rounded half away from zero."""
    x, exponent = _i64(x), _i64(exponent)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def rounding_shift_right_up(x, exponent) -> np.ndarray:
    """x / 2**exponent rounded half up: NEON's vrshl, TFLite's vector loops."""
    x, exponent = _i64(x), _i64(exponent)
    return (x + ((np.int64(1) << exponent) >> 1)) >> exponent


def wrap32(x) -> np.ndarray:
    """int64 values taken modulo 2**32 into int32's range (C++'s wrapping int32 arithmetic)."""
    return ((_i64(x) + 2**31) & 0xFFFFFFFF) - 2**31


def multiply_by_quantized_multiplier(x, multiplier, shift, rounding: str = "away") -> np.ndarray:
    """TFLite's MultiplyByQuantizedMultiplier (double rounding) on int32 values: x times
    multiplier * 2**(shift - 31). rounding: "away" (the reference kernels' final shift) or
    "up" (the vector loops'), as requantize.h's Rounding. Arguments broadcast; the result
    is an int64 array of int32 values."""
    x, shift = _i64(x), _i64(shift)
    left, right = np.maximum(shift, 0), np.maximum(-shift, 0)
    high = saturating_rounding_doubling_high_mul(wrap32(x << left), multiplier)
    if rounding == "up":
        return rounding_shift_right_up(high, right)
    if rounding != "away":
        raise ValueError(f"rounding {rounding!r}")
    return rounding_divide_by_pot(high, right)


def requantize(acc, multiplier, shift, zero_point: int, lo: int, hi: int,
               rounding: str = "away") -> np.ndarray:
    """An int32 accumulator to the output's quantized domain: scaled, offset, clamped."""
    return np.clip(multiply_by_quantized_multiplier(acc, multiplier, shift, rounding) + zero_point, lo, hi)


# ---- binary elementwise ops (add.cc, sub.cc, mul.cc, squared_difference.cc) -----------
def _f32(x) -> np.float32:
    return np.float32(x)


def add_multipliers(scale_a: float, scale_b: float, scale_out: float, left_shift: int) -> tuple:
    """((mult, shift) of input a, of input b, of the output) of a quantized ADD or SUB as
    TFLite's Prepare computes them: both inputs are brought to twice the larger input
    scale (twice_max_input_scale, a float), the sum to the output's scale after a left
    shift of `left_shift` bits (20 for 8-bit, 15 for int16); each real multiplier in
    double, from float operands as C++ promotes them."""
    twice_max = float(_f32(2) * max(_f32(scale_a), _f32(scale_b)))
    real_a = float(_f32(scale_a)) / twice_max
    real_b = float(_f32(scale_b)) / twice_max
    real_out = twice_max / float(_f32(1 << left_shift) * _f32(scale_out))
    return (quantize_multiplier(real_a), quantize_multiplier(real_b),
            quantize_multiplier(real_out))


def squared_difference_multipliers(scale_a: float, scale_b: float, scale_out: float) -> tuple:
    """As add_multipliers for int8 SQUARED_DIFFERENCE (squared_difference.cc): inputs
    shifted left 7 bits, the squared difference scaled by twice_max^2 / (2^14 * output)."""
    twice_max = float(_f32(2) * max(_f32(scale_a), _f32(scale_b)))
    real_a = float(_f32(scale_a)) / twice_max
    real_b = float(_f32(scale_b)) / twice_max
    real_out = (twice_max * twice_max) / float(_f32(1 << 14) * _f32(scale_out))
    return (quantize_multiplier(real_a), quantize_multiplier(real_b),
            quantize_multiplier(real_out))


def mul_multiplier(scale_a: float, scale_b: float, scale_out: float) -> tuple:
    """(mult, shift) of a quantized MUL: a * b / out computed in float (mul.cc multiplies
    the float scales before it widens the result to double)."""
    return quantize_multiplier(float(_f32(_f32(scale_a) * _f32(scale_b)) / _f32(scale_out)))


def add_sub_values(a, b, offsets, multipliers, left_shift: int, subtract: bool) -> np.ndarray:
    """The int32 value before the output's offset and clamp of TFLite's quantized ADD (SUB):
    each input offset by minus its zero point, shifted left, scaled by its multiplier;
    summed (subtracted); scaled by the output multiplier. offsets: (-zp_a, -zp_b);
    multipliers: add_multipliers' three pairs."""
    (ma, sa), (mb, sb), (mo, so) = multipliers
    va = multiply_by_quantized_multiplier((_i64(a) + offsets[0]) << left_shift, ma, sa)
    vb = multiply_by_quantized_multiplier((_i64(b) + offsets[1]) << left_shift, mb, sb)
    return multiply_by_quantized_multiplier(wrap32(va - vb if subtract else va + vb), mo, so)


def squared_difference_values(a, b, offsets, multipliers) -> np.ndarray:
    """As add_sub_values for int8 SQUARED_DIFFERENCE: the scaled difference squared (it
    fits int32: |difference| < 2^15), then scaled by the output multiplier."""
    (ma, sa), (mb, sb), (mo, so) = multipliers
    va = multiply_by_quantized_multiplier((_i64(a) + offsets[0]) << 7, ma, sa)
    vb = multiply_by_quantized_multiplier((_i64(b) + offsets[1]) << 7, mb, sb)
    d = va - vb
    return multiply_by_quantized_multiplier(wrap32(d * d), mo, so)


def mul_values(a, b, offsets, multiplier) -> np.ndarray:
    """As add_sub_values for MUL: the product of the offset inputs, scaled."""
    p = (_i64(a) + offsets[0]) * (_i64(b) + offsets[1])
    return multiply_by_quantized_multiplier(wrap32(p), *multiplier)


# ---- elementwise unary ops of 8-bit data: 256-entry tables (ops/qunary.py) ------------
# Every one of these ops maps one input byte to one output byte, so its whole arithmetic
# is a table computed here, entry by entry exactly as TFLite computes the value: the ops
# TFLite itself runs through a float table (LUTPopulate: LOGISTIC, TANH, GELU, ELU) with
# float32 steps and the C library's float functions; the others (RELU*, LEAKY_RELU,
# PRELU, HARD_SWISH, ABS, RSQRT) with their integer kernels emulated in Python integers.
# A table is indexed by the input's byte (an int8 value v at uint8(v)), as lookup_u8 reads it.

def byte_values(dtype: str) -> np.ndarray:
    """The input value of each table index 0..255 (int64): uint8 i, or int8(i)."""
    i = np.arange(256, dtype=np.int64)
    return i if dtype == "uint8" else np.where(i < 128, i, i - 256)


_LIBM = None


def libm_f32(name: str):
    """The C library's float function `name` (expf, tanhf, erfcf, expm1f, sqrtf) as
    float32 -> float32: TFLite's std::exp(float) etc. are these, so a table computed with
    them is the one TFLite computes on the same machine."""
    global _LIBM
    if _LIBM is None:
        import ctypes
        import ctypes.util
        _LIBM = ctypes.CDLL(ctypes.util.find_library("m"))
        for fn in ("expf", "tanhf", "erfcf", "expm1f", "sqrtf"):
            getattr(_LIBM, fn).restype = ctypes.c_float
            getattr(_LIBM, fn).argtypes = [ctypes.c_float]
    f = getattr(_LIBM, name)
    return lambda x: np.float32(f(float(x)))


def _f32_transform(op: str, approximate: bool = False):
    """The float function TFLite's Prepare tabulates for `op`, in float32 steps."""
    f = np.float32
    if op == "LOGISTIC":                       # 1.0f / (1.0f + std::exp(-x))
        expf = libm_f32("expf")
        return lambda x: f(f(1) / f(f(1) + expf(-x)))
    if op == "TANH":
        return libm_f32("tanhf")
    if op == "ELU":                            # x < 0 ? std::expm1(x) : x
        expm1f = libm_f32("expm1f")
        return lambda x: expm1f(x) if x < 0 else x
    if op == "GELU" and not approximate:       # 0.5f * x * std::erfc(x * -M_SQRT1_2)
        erfcf = libm_f32("erfcf")
        k = f(-0.70710678118654752440)
        return lambda x: f(f(f(0.5) * x) * erfcf(f(x * k)))
    if op == "GELU":                           # 0.5f*x*(1 + tanh(sqrt(2/pi)*(x + 0.044715f*x^3)))
        tanhf = libm_f32("tanhf")
        k, c = f(1.12837916709551257390 * 0.70710678118654752440), f(0.044715)
        return lambda x: f(f(f(0.5) * x) * f(f(1) + tanhf(f(k * f(x + f(f(f(c * x) * x) * x))))))
    raise ValueError(f"no float table for {op}")


def float_lut(op: str, in_q: tuple, out_q: tuple, dtype: str, approximate: bool = False) -> np.ndarray:
    """TFLite's LUTPopulate of `op` for 8-bit data: per input value v, in float32,
    x = in_scale * (v - in_zp), y = f(x), r = round(y * (1 / out_scale)) (halves away
    from 0), q = (int)(r + out_zp), clamped to the dtype. Table by byte, of `dtype`."""
    f = np.float32
    transform = _f32_transform(op, approximate)
    (s_in, z_in), (s_out, z_out) = in_q, out_q
    inverse = f(f(1) / f(s_out))
    lo, hi = INT_RANGE[dtype]
    out = []
    with np.errstate(over="ignore", invalid="ignore"):
        for v in byte_values(dtype):
            y = transform(f(f(s_in) * f(int(v) - int(z_in))))
            r = f(y * inverse)
            if not np.isfinite(r):
                q = -2**31                     # x86's (int) of a float out of range
            else:
                r = f(round_half_away(float(r)))
                s = f(r + f(z_out))
                q = int(s) if abs(float(s)) < 2.0**31 else -2**31
            out.append(min(max(q, lo), hi))
    return np.array(out, dtype)


def _scale_ratio(a: float, b: float) -> float:
    """float32 a / b, widened to double: how TFLite's Prepare divides two float scales."""
    return float(np.float32(a) / np.float32(b))


def _mbqm(x: int, mult: int, shift: int) -> int:
    return int(multiply_by_quantized_multiplier(np.int64(x), mult, shift))


def relu_table(op: str, in_q: tuple, out_q: tuple, dtype: str) -> np.ndarray:
    """RELU, RELU6, RELU_N1_TO_1 (ReluX): out_zp + (v - in_zp) rescaled by the float32
    in_scale / out_scale, clamped to the activation's range in the output's domain."""
    (s_in, z_in), (s_out, z_out) = in_q, out_q
    mult, shift = quantize_multiplier(_scale_ratio(s_in, s_out))
    lo, hi = activation_range(op, s_out, z_out, dtype)
    return np.array([min(max(z_out + _mbqm(int(v) - z_in, mult, shift), lo), hi)
                     for v in byte_values(dtype)], dtype)


def leaky_relu_table(alpha: float, in_q: tuple, out_q: tuple, dtype: str) -> np.ndarray:
    """LEAKY_RELU (QuantizeLeakyRelu): v - in_zp rescaled by in_scale / out_scale where
    >= 0, by in_scale * alpha / out_scale (float32 products) below, + out_zp, clamped."""
    f = np.float32
    (s_in, z_in), (s_out, z_out) = in_q, out_q
    m_id, s_id = quantize_multiplier(_scale_ratio(s_in, s_out))
    m_al, s_al = quantize_multiplier(float(f(f(s_in) * f(alpha)) / f(s_out)))
    lo, hi = INT_RANGE[dtype]
    out = []
    for v in byte_values(dtype):
        d = int(v) - z_in
        y = z_out + (_mbqm(d, m_id, s_id) if d >= 0 else _mbqm(d, m_al, s_al))
        out.append(min(max(y, lo), hi))
    return np.array(out, dtype)


def prelu_tables(alpha_values, alpha_q: tuple, in_q: tuple, out_q: tuple, dtype: str) -> np.ndarray:
    """PRELU with constant alpha: one table per alpha value, [len(alpha), 256]. TFLite's
    reference Prelu: d = v - in_zp; d >= 0: d rescaled by in_scale / out_scale; else
    d * (alpha - alpha_zp) rescaled by in_scale * alpha_scale / out_scale (float32);
    + out_zp, clamped."""
    f = np.float32
    (s_in, z_in), (s_a, z_a), (s_out, z_out) = in_q, alpha_q, out_q
    m1, s1 = quantize_multiplier(_scale_ratio(s_in, s_out))
    m2, s2 = quantize_multiplier(float(f(f(s_in) * f(s_a)) / f(s_out)))
    lo, hi = INT_RANGE[dtype]
    d = byte_values(dtype) - z_in
    pos = multiply_by_quantized_multiplier(d, m1, s1)
    tables = []
    for a in np.ravel(alpha_values).astype(np.int64):
        neg = multiply_by_quantized_multiplier(d * (int(a) - z_a), m2, s2)
        tables.append(np.clip(np.where(d >= 0, pos, neg) + z_out, lo, hi))
    return np.array(tables, dtype).reshape(-1, 256)


def abs_table(in_q: tuple, out_q: tuple) -> np.ndarray:
    """int8 ABS (AbsEvalQuantized): |v - in_zp|, rescaled by the float32 in_scale /
    out_scale unless the scales are equal, + out_zp, clamped."""
    (s_in, z_in), (s_out, z_out) = in_q, out_q
    d = np.abs(byte_values("int8") - z_in)
    if np.float32(s_in) != np.float32(s_out):
        d = multiply_by_quantized_multiplier(d, *quantize_multiplier(_scale_ratio(s_in, s_out)))
    return np.clip(d + z_out, -128, 127).astype(np.int8)


def _srdhm16(a: int, b: int) -> int:
    """gemmlowp SaturatingRoundingDoublingHighMul on int16."""
    if a == b == -32768:
        return 32767
    ab = a * b
    s = ab + ((1 << 14) if ab >= 0 else 1 - (1 << 14))
    return s // (1 << 15) if s >= 0 else -((-s) // (1 << 15))


def _rdbpot(x: int, e: int) -> int:
    return int(rounding_divide_by_pot(np.int64(x), e))


def _rdbpot16(x: int, e: int) -> int:
    """gemmlowp RoundingDivideByPOT on an int16: its mask is (2**e - 1) cut to 16 bits,
    so a shift of 16 or more gives +1 for x >= 0 and -1 below (what TFLite computes)."""
    def i16(v):
        return (v + 2**15) % 2**16 - 2**15
    mask = i16((1 << e) - 1)
    threshold = i16((mask >> 1) + (1 if x < 0 else 0))
    return i16((x >> e) + (1 if i16(x & mask) > threshold else 0))


def _int16_multiplier(m32: int) -> int:
    """DownScaleInt32ToInt16Multiplier."""
    return 32767 if m32 >= 2**31 - 1 - (1 << 15) else (m32 + (1 << 15)) >> 16


def hard_swish_params(in_q: tuple, out_q: tuple) -> dict:
    """HardSwishPrepare's constants, from float32 scales."""
    f = np.float32
    hires = f(f(1.0 / 128.0) * f(in_q[0]))
    om, oe = quantize_multiplier(float(f(hires / f(out_q[0]))))
    rm, re_ = quantize_multiplier(float(f(hires / f(f(3.0) / f(32768.0)))))
    return dict(out_mult=_int16_multiplier(om), out_exp=oe, relu_mult=_int16_multiplier(rm), relu_exp=re_)


def hard_swish_table(in_q: tuple, out_q: tuple, dtype: str) -> np.ndarray:
    """HARD_SWISH on 8-bit data: TFLite's int16 fixed-point kernel (reference_ops::HardSwish)."""
    p = hard_swish_params(in_q, out_q)
    lo, hi = INT_RANGE[dtype]

    def sat16(x):
        return min(max(x, -32768), 32767)
    out = []
    for v in byte_values(dtype):
        hires = (int(v) - in_q[1]) * 128                         # fits int16 for 8-bit data
        pre_out = _srdhm16(hires, p["out_mult"])
        r = hires
        if p["relu_exp"] > 0:
            r = sat16(r * (1 << (p["relu_exp"] - 1)))
        r = _srdhm16(r, p["relu_mult"])
        if p["relu_exp"] > 0:
            r = sat16(r * 2)
        if p["relu_exp"] < 0:
            r = _rdbpot16(r, -p["relu_exp"])
        r = (r + (1 << 15)) >> 1
        prod = r * pre_out                                       # SaturatingDoublingHighMul
        y = 32767 if r == pre_out == -32768 else (prod // (1 << 15) if prod >= 0 else -((-prod) // (1 << 15)))
        y = _rdbpot16(y, -p["out_exp"]) + out_q[1]
        out.append(min(max(y, lo), hi))
    return np.array(out, dtype)


def _srdhm32(a: int, b: int) -> int:
    return int(saturating_rounding_doubling_high_mul(np.int64(a), np.int64(b)))


def _sat_pot(x: int, e: int) -> int:
    """gemmlowp SaturatingRoundingMultiplyByPOT<e> on an int32."""
    if e <= 0:
        return _rdbpot(x, -e) if e < 0 else x
    threshold = (1 << (31 - e)) - 1
    if x > threshold:
        return 2**31 - 1
    if x < -threshold:
        return -2**31
    return x << e


def _inv_sqrt_multiplier(value: int) -> tuple:
    """GetInvSqrtQuantizedMultiplierExp(value, kReverseShift): (multiplier, shift) with
    1 / sqrt(value) ~= multiplier * 2**(shift - 31), by 5 Newton-Raphson steps in Q3.28."""
    if value <= 1:
        return 2**31 - 1, 0
    shift = 11
    while value >= 1 << 29:
        value //= 4
        shift += 1
    pairs = (32 - value.bit_length() - 1) // 2 - 1
    shift -= pairs
    value <<= 2 * pairs
    half_input = _sat_pot(value >> 1, -1)
    half_three = (1 << 28) + (1 << 27)
    x = 1 << 28
    for _ in range(5):
        x3 = _sat_pot(_srdhm32(_srdhm32(x, x), x), 6)
        x = _sat_pot(_srdhm32(half_three, x) - _srdhm32(half_input, x3), 3)
    x = _srdhm32(x, 1518500250)
    if shift < 0:
        x <<= -shift
        shift = 0
    return x, -shift


def rsqrt_table(in_q: tuple, out_q: tuple) -> np.ndarray:
    """int8 RSQRT (RsqrtEvalQuantizedInt8): for d = v - in_zp > 0, 1/sqrt(d) as a
    fixed-point multiplier, applied to 1 << 20, then rescaled by the double
    1 / (sqrtf(in_scale) * out_scale) shifted back by 20, + out_zp, clamped; d == 0 gives
    127. TFLite fails the invoke on any d < 0; those entries hold 127 too."""
    f = np.float32
    (s_in, z_in), (s_out, z_out) = in_q, out_q
    mult, shift = quantize_multiplier(1.0 / float(f(libm_f32("sqrtf")(f(s_in)) * f(s_out))))
    out = []
    for v in byte_values("int8"):
        d = int(v) - z_in
        if d <= 0:
            out.append(127)
            continue
        m, s = _inv_sqrt_multiplier(d)
        data = _mbqm(1, m, s + 20)
        out.append(min(max(_mbqm(data, mult, shift - 20) + z_out, -128), 127))
    return np.array(out, np.int8)


# ---- pools, reductions, softmax (reduce.cc, pooling.cc, softmax; ops/qreduce.py) -------
def _f32s(x) -> float:
    """x rounded to float32, as a Python float."""
    return float(np.float32(x))


def mean_multiplier(input_scale: float, output_scale: float, count: int) -> tuple:
    """(multiplier, shift) of QuantizedMeanOrSum's mean: QuantizeMultiplier of the double
    input/output scale ratio, then 1/count folded into the multiplier by an integer
    division after shifting it up by as many bits as count has (minus one), capped so the
    shift stays >= -31."""
    q0, s0 = quantize_multiplier(float(np.float64(np.float32(input_scale)) /
                                       np.float64(np.float32(output_scale))))
    bits = min(int(count).bit_length() - 1, 32, 31 + s0)
    return (q0 << bits) // int(count), s0 - bits


def mean_4d_params(input_scale: float, input_zp: int, output_scale: float, output_zp: int,
                   count: int) -> tuple:
    """(multiplier, shift, bias) of TFLite's optimized int8/uint8 MEAN over H and W with
    keep_dims: the multiplier of the float32 in_scale / (count * out_scale), and the bias
    output_zp - (in_zp * in_scale / out_scale in float32, rounded half away by adding
    +-0.5 in float32 and truncating)."""
    f = np.float32
    tmp = f(f(f(input_zp) * f(input_scale)) / f(output_scale))
    tmp = f(tmp + f(0.5)) if tmp > 0 else f(tmp - f(0.5))
    bias = int(output_zp) - int(math.trunc(float(tmp)))
    q, s = quantize_multiplier(_f32s(f(input_scale) / f(f(count) * f(output_scale))))
    return q, s, bias


def sum_float_params(input_scale: float, input_zp: int, output_scale: float, count: int) -> tuple:
    """(scale, bias), float32, of TFLite's quantized SUM: out = round(sum * scale + bias) +
    out_zp, scale = in_scale / out_scale and bias = -in_zp * scale * count in float32."""
    f = np.float32
    scale = f(f(input_scale) / f(output_scale))
    bias = f(f(f(-int(input_zp)) * scale) * f(count))
    return float(scale), float(bias)


# glibc's expf (sysdeps/ieee754/flt-32/e_expf.c: exp(x) = 2^(k/32) * 2^(r/32), a 32-entry
# table of 2^(i/32) and a cubic in r, evaluated in double with fused multiply-adds as the
# FMA build the x86-64 glibc selects), the std::exp TFLite's prepare calls for float.
# Python's math.exp, correctly rounded, differs from it in about 1 float of 1600.
_EXP2F_TABLE = (
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
    0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
    0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
    0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
    0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
    0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540)
_EXPF_INVLN2N = float.fromhex("0x1.71547652b82fep+0") * 32.0
_EXPF_C = (float.fromhex("0x1.c6af84b912394p-5") / 32.0 / 32.0 / 32.0,
           float.fromhex("0x1.ebfce50fac4f3p-3") / 32.0 / 32.0,
           float.fromhex("0x1.62e42ff0c52d6p-1") / 32.0)
_EXPF_SHIFT = float.fromhex("0x1.8p+52")


def _fma(a: float, b: float, c: float) -> float:
    """a * b + c rounded once (exact rationals; int / int rounds correctly)."""
    na, da = a.as_integer_ratio()
    nb, db = b.as_integer_ratio()
    nc, dc = c.as_integer_ratio()
    num = na * nb * dc + nc * da * db
    return num / (da * db * dc) if num else 0.0


def expf(x: float) -> float:
    """glibc's expf of the float32 x <= 88 (above, glibc's overflow cases apply, which
    this does not model); below -0x1.9fe368p6 it underflows to 0."""
    x = _f32s(x)
    if not x <= 88.0:
        raise ValueError(f"expf({x}) is outside the modelled range")
    if x < float.fromhex("-0x1.9fe368p6"):
        return 0.0
    z = _EXPF_INVLN2N * x
    kd = _fma(_EXPF_INVLN2N, x, _EXPF_SHIFT)
    ki = int(np.float64(kd).view(np.uint64))
    kd -= _EXPF_SHIFT
    r = z - kd
    t = (_EXP2F_TABLE[ki % 32] + (ki << 47)) & (2**64 - 1)
    s = float(np.uint64(t).view(np.float64))
    c0, c1, c2 = _EXPF_C
    y = _fma(_fma(c0, r, c1), r * r, _fma(c2, r, 1.0))
    return _f32s(y * s)


def softmax_table(input_scale: float, beta: float) -> np.ndarray:
    """TFLite's PopulateSoftmaxLookupTable (optimized 8-bit SOFTMAX): 256 float32 values,
    entry 255 - d = expf(-input_scale * beta * d) for a distance d (in quantized steps) of
    an element below its row's maximum, every product in float32."""
    f = np.float32
    scale = f(-f(input_scale) * f(beta))
    table = np.zeros(256, np.float32)
    for d in range(256):
        table[255 - d] = expf(float(f(scale * f(d))))
    return table


# ---- dynamic-range ("hybrid") FULLY_CONNECTED / CONV_2D / DEPTHWISE_CONV_2D -------------
def hybrid_weight_scales(t, channels: int) -> np.ndarray:
    """The float32 scale of each output channel of constant int8 weights `t` (a per-tensor
    scale repeated): what a hybrid kernel multiplies by the input's scale."""
    s = t.quant.scales().astype(np.float32).ravel()
    return np.repeat(s, channels) if s.size == 1 else s


def hybrid_row_sums(w2d: np.ndarray) -> np.ndarray:
    """sum of each row of int8 weights [channels][k] as int32: zero point * row sum is what
    an asymmetrically quantized input row adds to each channel's dot product."""
    return np.asarray(w2d, np.int64).sum(axis=1).astype(np.int32)


def hybrid_conv_per_channel(t) -> bool:
    """Whether TFLite's hybrid CONV_2D takes its per-channel path for weights `t` (int8 with
    more than one scale, not all equal): then the input is quantized asymmetrically, else
    symmetrically with the first scale."""
    s = t.quant.scale
    return t.dtype == "int8" and len(s) > 1 and any(v != s[0] for v in s[1:])


def hybrid_quantize_rows(x: np.ndarray, asymmetric: bool) -> tuple:
    """Each row of float32 x [rows][n] quantized as the pip build of TFLite's hybrid
    kernels do (runtime/dlcoder_rt/qhybrid.h): (int8 values, float32 scales, int32 zero
    points). Symmetric: scale max|x|/127, q = round(x * 127/max|x|). Asymmetric: the scale
    (max(0, max x) - min(0, min x)) / 255 in float32, the zero point from it in double,
    q = round(x * (1/scale)) + zero point, each rounding half away from zero."""
    x = np.asarray(x, np.float32)
    f = np.float32

    def rnd(v):
        v = np.asarray(v, np.float64)
        return (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.int64)

    qs, scales, zps = [], [], []
    for row in x.reshape(x.shape[0], -1):
        if asymmetric:
            rmin, rmax = min(f(0), row.min()), max(f(0), row.max())
            if rmin == rmax:
                q, s, zp = np.zeros(row.size, np.int64), f(1), 0
            else:
                s = f(f(rmax - rmin) / f(255))
                sd = float(s)
                zd = (-128.0 - float(rmin) / sd if 128.0 + abs(float(rmin) / sd) < 127.0 + abs(float(rmax) / sd)
                      else 127.0 - float(rmax) / sd)
                zp = -128 if zd <= -128 else 127 if zd >= 127 else round_half_away(zd)
                q = np.clip(rnd(row * (f(1) / s)) + zp, -128, 127)
        else:
            r = max(abs(row.min()), abs(row.max()))
            if r == 0:
                q, s, zp = np.zeros(row.size, np.int64), f(1), 0
            else:
                s, zp = f(r) / f(127), 0
                q = np.clip(rnd(row * (f(127) / f(r))), -127, 127)
        qs.append(q.astype(np.int8))
        scales.append(s)
        zps.append(zp)
    return np.array(qs), np.array(scales, np.float32), np.array(zps, np.int32)


# ---- QUANTIZE, DEQUANTIZE, requantization (quantize.cc, dequantize.cc) ------------------
# TFLite's builtin kernels take `block`-sized runs in a vector loop and the rest in a scalar
# loop that rounds differently (runtime dequantize.h: kAffineBlock); these mirror both.
def _to_int32(r: np.ndarray) -> np.ndarray:
    """float -> int32 as the kernels convert: INT32_MIN where it does not fit (NaN, inf)."""
    r = np.asarray(r, np.float64)
    ok = np.isfinite(r) & (r >= -2.0**31) & (r < 2.0**31)
    return np.where(ok, np.where(ok, r, 0).astype(np.int64), -2**31)


def quantize_values(x, scale: float, zero_point: int, dtype: str, block: int) -> np.ndarray:
    """float32 -> dtype: round(x / scale) + zero_point, clamped. The first n // block * block
    elements multiply by float(1 / double(scale)) and round half to even, the rest divide
    in double and round half away from zero."""
    x = np.asarray(x, np.float32)
    flat = x.reshape(-1)
    vec = flat.size // block * block
    inv = np.float32(1.0 / np.float64(np.float32(scale)))
    with np.errstate(invalid="ignore", over="ignore"):
        r = np.concatenate([np.rint(flat[:vec] * inv).astype(np.float64),
                            np.vectorize(round_half_away_float, otypes=[np.float64])(
                                flat[vec:].astype(np.float64) / np.float64(np.float32(scale)))])
    q = wrap32(_to_int32(r) + zero_point)
    lo, hi = INT_RANGE[dtype]
    return np.clip(q, lo, hi).astype(dtype).reshape(x.shape)


def round_half_away_float(v: float) -> float:
    """std::round of a double, NaN and inf kept."""
    return v if not math.isfinite(v) else float(round_half_away(v))


def dequantize_values(q, scale: float, zero_point: int, block: int) -> np.ndarray:
    """Per-tensor int -> float32: the first n // block * block elements as
    float(q) * scale + float(-zero_point * scale) (two float roundings), the rest as
    float((q - zero_point) * scale) (one)."""
    q = np.asarray(q)
    flat = q.reshape(-1).astype(np.int64)
    vec = flat.size // block * block
    s = np.float32(scale)
    offset = np.float32(np.float32(-zero_point) * s)
    head = (flat[:vec].astype(np.float32) * s).astype(np.float32) + offset
    tail = (flat[vec:] - zero_point).astype(np.float32) * s
    return np.concatenate([head, tail]).astype(np.float32).reshape(q.shape)


def requantize_values(x, in_zp: int, out_zp: int, multiplier: int, shift: int, vec: int,
                      dtype: str) -> np.ndarray:
    """Integer -> integer QUANTIZE: the first `vec` elements rounded half up, the rest half away."""
    x = np.asarray(x)
    flat = x.reshape(-1).astype(np.int64) - in_zp
    lo, hi = INT_RANGE[dtype]
    out = np.concatenate([requantize(flat[:vec], multiplier, shift, out_zp, lo, hi, "up"),
                          requantize(flat[vec:], multiplier, shift, out_zp, lo, hi, "away")])
    return out.astype(dtype).reshape(x.shape)


# ---- int16x8: int16 activations, int8 weights; int16 LOGISTIC, TANH, SOFTMAX (ops/qint16.py)
def int64_multiplier_shift_ok(shift: int) -> bool:
    """Whether TFLite's int64 MultiplyByQuantizedMultiplier (a 16-bit multiplier, one
    rounding right shift by 15 - shift, runtime/dlcoder_rt/qint16.h) is defined for this
    shift: the shift it rounds by must be at least 1."""
    return 15 - shift >= 1


def fc_int16_scales(input_scale: float, weight_scales, output_scale: float) -> np.ndarray:
    """The double effective scale per output channel of TFLite's int16 FULLY_CONNECTED
    (the reference kernel with float scales: (double)in * (double)w / (double)out)."""
    return effective_scales(input_scale, weight_scales, output_scale)


def checked_log2(x: float) -> tuple:
    """TFLite's CheckedLog2 of a float scale: (whether log2(x) is within 1e-3 of an
    integer, that integer), computed in float32 as std::log(float) * (1 / log(2.0f))."""
    f = np.float32
    log2 = f(f(math.log(float(f(x)))) * f(f(1.0) / f(math.log(2.0))))
    rounded = f(round_half_away(float(log2)))
    return abs(float(f(log2 - rounded))) < 1e-3, int(rounded)


def sigmoid_int16_params(input_scale: float, op: str) -> tuple:
    """(multiplier, left shift) of TFLite's int16 LOGISTIC / TANH Prepare. A multiplier of 0
    means TFLite takes its power-of-two path (gemmlowp fixed point, not the table): the
    scale's log2 is -12 (LOGISTIC) or -12 / -11 (TANH), within CheckedLog2's tolerance.
    Else the multiplier brings the input to 1/(3*4096) per step, doubled in double until
    above 32767/2 (at most 31 times), then truncated."""
    ok, log2 = checked_log2(input_scale)
    shift = 12 + log2
    if ok and (shift == 0 or (op == "TANH" and shift == 1)):
        return 0, shift
    multiplier, shift = float(np.float32(input_scale)) * 4096.0 * 3.0, 0
    while multiplier <= 32767.0 / 2.0 and shift <= 30:
        shift += 1
        multiplier *= 2.0
    return int(multiplier), shift


def lut_int16(fn, input_scale: float, input_zp: int, output_scale: float, output_zp: int) -> np.ndarray:
    """TFLite's LUTPopulate<int16_t> in double (the softmax tables): 512 samples of fn over
    the int16 input range, each biased by half the interpolation error at its midpoint,
    and fn at the range's end; every step in double, std::round halves away from zero."""
    def rnd(v: float) -> float:
        return math.copysign(math.floor(abs(v) + 0.5), v)
    in_min, in_max = input_scale * (-32768 - input_zp), input_scale * (32767 - input_zp)
    out_min, out_max = output_scale * (-32768 - output_zp), output_scale * (32767 - output_zp)
    step = (in_max - in_min) / 512
    half = step / 2
    inv = 65536.0 / (out_max - out_min)
    lut = []
    for i in range(512):
        val, mid, nxt = fn(in_min + i * step), fn(in_min + i * step + half), fn(in_min + (i + 1) * step)
        interp = rnd((nxt * inv + rnd(val * inv)) / 2)
        bias = rnd((interp - rnd(mid * inv)) / 2)
        lut.append(min(max(rnd(val * inv) - bias, -32768.0), 32767.0))
    lut.append(min(max(rnd(fn(in_max) * inv), -32768.0), 32767.0))
    return np.array(lut, np.int16)


def softmax_int16_luts() -> tuple:
    """(exp table on [-10, 0], 1 / (1 + x) table on [0, 1]) of TFLite's int16 SOFTMAX, both
    with outputs on [-1, 1]: 513 int16 entries each (math.exp is the C library's exp)."""
    r = 65535
    return (lut_int16(math.exp, 10.0 / r, 32767, 2.0 / r, 0),
            lut_int16(lambda v: 1.0 / (1.0 + v), 1.0 / r, -32768, 2.0 / r, 0))


def softmax_int16_multiplier(input_scale: float, beta: float) -> tuple:
    """(multiplier, shift) taking an int16 SOFTMAX input difference to the exp table's
    step of 10/65535: float32 input scale * beta, divided in double."""
    real = float(np.float32(np.float32(input_scale) * np.float32(beta))) / (10.0 / 65535.0)
    return quantize_multiplier(real)


# ---- binary elementwise ops: TFLite's broadcast dispatch (ops/qelementwise.py) -----------
def broadcast_fivefold(shape_a, shape_b) -> tuple:
    """TFLite's ProcessBroadcastShapes: (category, y) with category "none" (same shape once
    both are padded with leading 1s), "first" / "second" (kFirstInputBroadcastsFast /
    kSecondInputBroadcastsFast: the fivefold loops, y their five extents y0..y4) or
    "generic" (y None: the slow reference broadcast). In the fivefold loops the
    non-broadcasting operand's inner runs are y4 elements long when y4 > 1 (one
    elementwise call per run), else the broadcast scalar meets runs of y3 elements."""
    n = max(len(shape_a), len(shape_b))
    a = [1] * (n - len(shape_a)) + [int(d) for d in shape_a]
    b = [1] * (n - len(shape_b)) + [int(d) for d in shape_b]
    if a == b:
        return "none", None
    category = None
    for i in range(n - 1, -1, -1):
        if a[i] == b[i]:
            continue
        if a[i] == 1:
            category = "first"
        elif b[i] == 1:
            category = "second"
        else:
            return "generic", None
        break
    if category == "second":
        a, b = b, a
    y = [1] * 5
    i = n - 1
    while i >= 0 and a[i] == b[i]:
        y[4] *= b[i]
        i -= 1
    while i >= 0 and a[i] == 1:
        y[3] *= b[i]
        i -= 1
    while i >= 0 and a[i] == b[i]:
        y[2] *= a[i]
        i -= 1
    while i >= 0 and b[i] == 1:
        y[1] *= a[i]
        i -= 1
    while i >= 0 and a[i] == b[i]:
        y[0] *= b[i]
        i -= 1
    if i >= 0:
        return "generic", None
    return category, tuple(y)


# ---- dynamic-range ("hybrid") BATCH_MATMUL (batch_matmul.cc EvalHybrid; ops/qhybrid_bmm.py) ----
def hybrid_sse_row_sums(w2d: np.ndarray) -> np.ndarray:
    """The sum of each row of int8 weights [rows][k] as TFLite's x86 pip build computes it
    (tensor_utils::ReductionSumVector, the SSE4.1 kernel; found by experiment): blocks of
    16 values added pairwise into 8 int16 lanes that wrap, then (SSE4.1) one block of 8
    into lanes 0..7, the lanes summed in int32, the last k % 8 values added in int32. Equal
    to the true sum unless a lane passes int16's range (large k, weights of one sign)."""
    w = np.asarray(w2d, np.int64)
    rows, k = w.shape

    def i16(v):
        return ((v + 2**15) % 2**16) - 2**15
    lanes = np.zeros((rows, 8), np.int64)
    col = 0
    while col + 16 <= k:
        block = w[:, col:col + 16]
        lanes = i16(lanes + block[:, 0::2] + block[:, 1::2])
        col += 16
    if col < (k & ~7):
        lanes = i16(lanes + w[:, col:col + 8])
        col += 8
    return (lanes.sum(axis=1) + w[:, col:].sum(axis=1)).astype(np.int32)


# ---- full-integer ("8x8_16") UNIDIRECTIONAL_SEQUENCE_LSTM (ops/qrnn.py) -----------------
# TFLite's PopulateQuantizedLstmParams8x8_16 (unidirectional_sequence_lstm.cc): the scales
# are float32 and their products and quotients float32 operations, except the powers of
# two (std::pow, double) that make the peephole and hidden scales double expressions.
def lstm_gate_multiplier(weight_scale: float, operand_scale: float, gate_scale: float) -> tuple:
    """(multiplier, shift) of weight scale * operand scale / gate scale, in float32."""
    f = np.float32
    return quantize_multiplier(float(f(f(f(weight_scale) * f(operand_scale)) / f(gate_scale))))


def lstm_peephole_multiplier(cell_log2: int, weight_scale: float, gate_scale: float) -> tuple:
    """(multiplier, shift) of 2^cell_log2 * peephole scale / gate scale (double, then
    stored in a float)."""
    real = 2.0 ** cell_log2 * float(np.float32(weight_scale)) / float(np.float32(gate_scale))
    return quantize_multiplier(float(np.float32(real)))


def lstm_hidden_multiplier(hidden_scale: float) -> tuple:
    """(multiplier, shift) of 2^-15 / hidden scale * 2^-15: output gate times tanh(cell),
    both Q0.15, to the hidden intermediate's scale."""
    real = 2.0 ** -15 / float(np.float32(hidden_scale)) * 2.0 ** -15
    return quantize_multiplier(float(np.float32(real)))


def lstm_cell_log2(scale: float):
    """The power of two of a cell state scale, as TFLite's CheckedLog2 (float32 log2,
    rounded; refused when more than 1e-3 off an integer): an int, or None."""
    f = np.float32
    x_log2 = f(f(math.log(float(f(scale)))) * f(1.0 / math.log(2.0)))
    rounded = f(round_half_away(float(x_log2)))
    return int(rounded) if abs(float(x_log2 - rounded)) < 1e-3 else None


def lstm_quantized_clip(clip: float, scale: float, lo: int, hi: int) -> int:
    """A clip value in a tensor's quantized domain: clip / scale in float32, limited to
    [lo, hi], truncated toward zero; 0 (no clipping) when clip <= 0."""
    if not clip > 0:
        return 0
    v = float(np.float32(np.float32(clip) / np.float32(scale)))
    return int(math.trunc(min(max(v, float(lo)), float(hi))))


def hybrid_sse_dot_differs(w2d: np.ndarray) -> bool:
    """Whether TFLite's x86 SSSE3 hybrid dot product (SseMatrixBatchVectorMultiplyAccumulateImpl:
    _mm_sign_epi8 moves the input's sign onto the weight, _mm_maddubs_epi16 multiplies by
    |input|) can differ from the true one for int8 weights [rows][k]: only a weight -128
    in a whole block of 16 (the first k & ~15 columns), which stays -128 when negated, so
    against a negative input it counts as +128 (runtime qhybrid.h hybrid_dot_sse)."""
    w = np.asarray(w2d, np.int8)
    return bool((w[:, :w.shape[1] & ~15] == -128).any())


# ---- int8 EXP, LOG, SQRT tables; 8-bit L2_NORMALIZATION; 8-bit comparisons (ops/qmore.py) --
_LOGF = None


def _logf(x) -> np.float32:
    """The C library's logf (TFLite's std::log(float)), float32 -> float32."""
    global _LOGF
    if _LOGF is None:
        import ctypes
        import ctypes.util
        lib = ctypes.CDLL(ctypes.util.find_library("m"))
        lib.logf.restype = ctypes.c_float
        lib.logf.argtypes = [ctypes.c_float]
        _LOGF = lib.logf
    return np.float32(_LOGF(float(x)))


def _lut_saturating(fn, in_q: tuple, out_q: tuple) -> np.ndarray:
    """The int8 LUTPopulate of EXP and LOG (exp.cc, elementwise.cc), as measured: per
    input v, in float32, y = fn(in_scale * (v - in_zp)), r = round(y * (1 / out_scale))
    (halves away from 0), r + out_zp saturated to [-128, 127] (a result beyond int32, or
    infinite, saturates: unlike float_lut's ops, EXP of a large input gives 127)."""
    f = np.float32
    (s_in, z_in), (s_out, z_out) = in_q, out_q
    inverse = f(f(1) / f(s_out))
    out = []
    with np.errstate(over="ignore", invalid="ignore"):
        for v in byte_values("int8"):
            r = f(fn(f(f(s_in) * f(int(v) - int(z_in)))) * inverse)
            if np.isnan(r):
                raise ValueError("NaN in an EXP/LOG table")
            if np.isfinite(r):
                r = f(f(round_half_away(float(r))) + f(z_out))
            out.append(int(min(max(float(r), -128.0), 127.0)))
    return np.array(out, np.int8)


def exp_table(in_q: tuple, out_q: tuple) -> np.ndarray:
    """int8 EXP: _lut_saturating of the C library's expf."""
    return _lut_saturating(libm_f32("expf"), in_q, out_q)


def log_table(in_q: tuple, out_q: tuple) -> np.ndarray:
    """int8 LOG (LogLUTPrepare): _lut_saturating of logf, where an input <= 0 maps to the
    float output_min = (-128 - out_zp) * out_scale instead."""
    f = np.float32
    out_min = f(f(-128 - int(out_q[1])) * f(out_q[0]))
    return _lut_saturating(lambda x: _logf(x) if x > 0 else out_min, in_q, out_q)


def sqrt_table(in_q: tuple, out_q: tuple) -> np.ndarray:
    """int8 SQRT (SqrtEvalQuantized): d = in_scale * (v - in_zp) (float32), s = sqrtf(d),
    q = (int)(s / out_scale) (float32 division, truncated; x86's cvttss2si: INT32_MIN
    beyond int32) + out_zp (wrapping int32), clamped. TFLite fails the invoke on an input
    below its zero point (d < 0); those entries hold the entry of the zero point."""
    f = np.float32
    (s_in, z_in), (s_out, z_out) = in_q, out_q
    sqrtf = libm_f32("sqrtf")
    out = []
    with np.errstate(over="ignore", invalid="ignore"):
        for v in byte_values("int8"):
            d = f(f(s_in) * f(max(int(v) - int(z_in), 0)))
            q = f(sqrtf(d) / f(s_out))
            t = int(q) if np.isfinite(q) and -2.0**31 <= float(q) < 2.0**31 else -2**31
            t = (t + int(z_out) + 2**31) % 2**32 - 2**31
            out.append(min(max(t, -128), 127))
    return np.array(out, np.int8)


def inv_sqrt_multiplier(value: int) -> tuple:
    """GetInvSqrtQuantizedMultiplierExp(value, kReverseShift): (multiplier, shift <= 0)."""
    return _inv_sqrt_multiplier(int(value))


def l2_normalize_values(x, zero_point: int, dtype: str) -> np.ndarray:
    """8-bit L2_NORMALIZATION along the last axis (output scale 1/128): per row,
    acc = sum (x - zp)^2 (int32), (m, s) = GetInvSqrtQuantizedMultiplierExp(acc); then
    int8 (reference_integer_ops): clamp(MBQM(x - zp, m, s + 7)); uint8 (L2Normalization
    of uint8): clamp(128 + RoundingDivideByPOT(SRDHM(128 * (x - zp), m), -s))."""
    x = np.asarray(x)
    depth = x.shape[-1] if x.ndim else 1
    rows = x.reshape(-1, depth).astype(np.int64) - int(zero_point)
    out = np.empty(rows.shape, np.int64)
    for i, r in enumerate(rows):
        m, s = _inv_sqrt_multiplier(int((r * r).sum()))
        if dtype == "int8":
            out[i] = np.clip(multiply_by_quantized_multiplier(r, m, s + 7), -128, 127)
        else:
            v = rounding_divide_by_pot(saturating_rounding_doubling_high_mul(128 * r, m), -s)
            out[i] = np.clip(128 + v, 0, 255)
    return out.reshape(x.shape).astype(dtype)


def comparison_values(x, zero_point: int, scale: float) -> np.ndarray:
    """An input of an 8-bit comparison as ComparisonWithScaling compares it:
    ((x - zp) << 8) scaled by the input's own scale, QuantizeMultiplier(scale) applied
    (SRDHM, then RoundingDivideByPOT). Defined for scales below 1 (TFLite aborts at 1 and
    shifts by a negative amount above)."""
    mult, shift = quantize_multiplier(float(np.float32(scale)))
    v = (np.asarray(x, np.int64) - int(zero_point)) * 256
    return multiply_by_quantized_multiplier(v, mult, shift)


# ---- int16x8 RSQRT, GELU (513-entry float tables), BATCH_MATMUL (ops/qint16more.py) -------
def lut_int16_f32(fn, input_scale: float, input_zp: int, output_scale: float, output_zp: int) -> np.ndarray:
    """TFLite's LUTPopulate<int16_t> from float scales and a float function (RSQRT's and
    GELU's Prepare): as lut_int16, every step in float32 (fn takes and gives float32), halves
    rounded away from zero. 512 samples with their midpoint bias, then fn at the range's end."""
    f = np.float32

    def rnd(v) -> np.float32:
        return f(math.copysign(math.floor(abs(float(v)) + 0.5), float(v)))
    si, so = f(input_scale), f(output_scale)
    in_min, in_max = f(si * f(-32768 - int(input_zp))), f(si * f(32767 - int(input_zp)))
    out_min, out_max = f(so * f(-32768 - int(output_zp))), f(so * f(32767 - int(output_zp)))
    step = f(f(in_max - in_min) / f(512))
    half = f(step / f(2))
    inv = f(f(65536) / f(out_max - out_min))
    lut = []
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(512):
            x = f(in_min + f(f(i) * step))
            val, mid, nxt = fn(x), fn(f(x + half)), fn(f(in_min + f(f(i + 1) * step)))
            sample = rnd(f(val * inv))
            interp = rnd(f(f(f(nxt * inv) + sample) / f(2)))
            bias = rnd(f(f(interp - rnd(f(mid * inv))) / f(2)))
            lut.append(min(max(float(f(sample - bias)), -32768.0), 32767.0))
        lut.append(min(max(float(rnd(f(fn(in_max) * inv))), -32768.0), 32767.0))
    return np.array(lut, np.int64).astype(np.int16)


def rsqrt_int16_lut(in_q: tuple, out_q: tuple) -> np.ndarray:
    """int16 RSQRT's table (elementwise.cc): 1.0f / std::sqrt(v), and for v <= 0 the largest
    output (32767 * output scale, in float)."""
    f = np.float32
    sqrtf = libm_f32("sqrtf")
    top = f(f(32767) * f(out_q[0]))
    return lut_int16_f32(lambda v: top if v <= 0 else f(f(1) / sqrtf(v)), in_q[0], in_q[1], out_q[0], out_q[1])


def gelu_int16_lut(in_q: tuple, out_q: tuple, approximate: bool) -> np.ndarray:
    """int16 GELU's table (gelu.cc): the float GELU (exact or tanh form) tabulated."""
    return lut_int16_f32(_f32_transform("GELU", approximate), in_q[0], in_q[1], out_q[0], out_q[1])


def lut_lookup_int16(x, lut: np.ndarray) -> np.ndarray:
    """TFLite's int16 LUTLookup (qint16.h lut_lookup_q16): entry 256 + (x >> 7), plus the
    int16 slope to the next entry times the low 7 bits, rounded (+64 >> 7)."""
    x, t = np.asarray(x, np.int64), np.asarray(lut, np.int64)
    index, offset = 256 + (x >> 7), x & 0x7F
    slope = ((t[index + 1] - t[index] + 2**15) & 0xFFFF) - 2**15
    return (((t[index] + ((slope * offset + 64) >> 7)) + 2**15) & 0xFFFF) - 2**15


def multiply_by_quantized_multiplier_i64(x, multiplier: int, shift: int) -> np.ndarray:
    """TFLite's int64 MultiplyByQuantizedMultiplier (qint16.h): the multiplier rounded to 16
    bits, (x * m16 + 2^(14 - shift)) >> (15 - shift), cut to int32. x below 2^47."""
    reduced = (int(multiplier) + (1 << 15)) >> 16 if multiplier < 0x7FFF0000 else 0x7FFF
    total = 15 - int(shift)
    return wrap32((np.asarray(x, np.int64) * reduced + (1 << (total - 1))) >> total)
