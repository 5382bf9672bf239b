"""Quantization arithmetic, in numpy: what TFLite computes when it prepares a quantized op,
and the integer steps its kernels take, so that generated code can take the same ones.

This is the one place that computes prepare-time quantities: the multiplier and shift of
a real scale (`quantize_multiplier`, TFLite's QuantizeMultiplier), the fused activation's
range in the quantized domain, and the tables of ops that map one byte to another. The
per-run integer steps (`multiply_by_quantized_multiplier` and its parts) mirror
runtime/dlcoder_rt/requantize.h, so a table computed here equals what a kernel computes.

Rounding, as the pip build of ai-edge-litert does it (found by experiment, see
tests/test_quantized_ops.py): a multiplier is applied with TFLite's "double rounding"
(a saturating rounding doubling high multiply, then a rounding right shift, both rounding
half away from zero), not the single rounding that TFLITE_SINGLE_ROUNDING selects.

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


def multiply_by_quantized_multiplier(x, multiplier, shift) -> np.ndarray:
    """TFLite's MultiplyByQuantizedMultiplier (double rounding) on int32 values: x times
    multiplier * 2**(shift - 31). Arguments broadcast; the result is an int64 array of
    int32 values."""
    x, shift = _i64(x), _i64(shift)
    left, right = np.maximum(shift, 0), np.maximum(-shift, 0)
    shifted = np.clip(x * (np.int64(1) << left), -2**31, 2**31 - 1)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right)


def requantize(acc, multiplier, shift, zero_point: int, lo: int, hi: int) -> np.ndarray:
    """An int32 accumulator to the output's quantized domain: scaled, offset, clamped."""
    return np.clip(multiply_by_quantized_multiplier(acc, multiplier, shift) + zero_point, lo, hi)
