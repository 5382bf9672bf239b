"""The fixed-point steps every quantized kernel takes (runtime requantize.h, numpy
dlcoder/quant.py), and QUANTIZE of integer input (requantization), against TFLite.

- quantize_multiplier against the multipliers TFLite derives (seen through its outputs:
  a requantization of all 256 int8 values pins the multiplier's effect down);
- the C++ primitives against the numpy ones on a million random and edge arguments (what
  the generator computes in tables must be what kernels compute at run time);
- QUANTIZE int8/uint8/int16 -> int8/uint8/int16 for several scale ratios, compiled and run,
  byte for byte against the interpreter, and folded by its evaluate hook.
"""
import subprocess
import sys

import numpy as np
import pytest

from dlcoder import quant as Q
from dlcoder import verify as V
from dlcoder.ops.quantize import requantize_values
from support import ROOT, TESTS, check_folding, run_ours

sys.path.insert(0, str(TESTS / "models"))
from op_hand import HandModel  # noqa: E402

RUNTIME = ROOT / "dlcoder" / "runtime"


def test_quantize_multiplier_round_trips():
    for real in [1e-12, 2.0**-31, 0.1, 0.5, 0.75, 0.9999999999, 1.0, 1.5, 3.0, 1234.5]:
        m, s = Q.quantize_multiplier(real)
        if m == 0:
            assert real < 2.0**-31 and s == 0
            continue
        assert 2**30 <= m < 2**31
        assert abs(m * 2.0 ** (s - 31) - real) <= real * 2.0**-30
    assert Q.quantize_multiplier(0.0) == (0, 0)
    assert Q.quantize_multiplier(1.0) == (2**30, 1)
    # a fraction that rounds up to 2**31 moves to the next power of two
    assert Q.quantize_multiplier(1.0 - 2.0**-40) == (2**30, 1)


def _cases(rng, n):
    x = np.concatenate([rng.integers(-2**31, 2**31, n), [0, 1, -1, 2**31 - 1, -2**31, 2**30, -2**30]])
    m = np.concatenate([rng.integers(2**30, 2**31, n), [2**30, 2**31 - 1, 2**30, 2**31 - 1, 2**31 - 1, 2**30, 2**30]])
    s = np.concatenate([rng.integers(-31, 8, n), [0, -31, 1, -1, 0, -5, 7]])
    return x.astype(np.int64), m.astype(np.int64), s.astype(np.int64)


def test_cxx_primitives_match_numpy(tmp_path):
    """requantize.h's multiply_by_quantized_multiplier equals quant.py's, element for element."""
    x, m, s = _cases(np.random.default_rng(5), 1_000_000)
    # the left shift saturates in C++ (TFLite's would overflow int32): keep |x << s| in range
    # only where TFLite defines it, and test the saturation separately below
    ok = np.abs(x * (2 ** np.maximum(s, 0))) < 2**31
    x, m, s = x[ok], m[ok], s[ok]
    src = tmp_path / "prim.cc"
    src.write_text("""
#include <cstdio>
#include <vector>
#include "dlcoder_rt/requantize.h"
int main() {
  long long n; if (std::fread(&n, 8, 1, stdin) != 1) return 1;
  std::vector<int64_t> a(3 * n); if (std::fread(a.data(), 8, 3 * n, stdin) != size_t(3 * n)) return 1;
  std::vector<int32_t> out(n);
  for (long long i = 0; i < n; ++i)
    out[i] = dlcoder_rt::multiply_by_quantized_multiplier(int32_t(a[i]), int32_t(a[n + i]), int(a[2 * n + i]));
  std::fwrite(out.data(), 4, n, stdout);
}
""")
    exe = tmp_path / "prim"
    subprocess.run(["g++", "-std=c++17", "-O2", "-fsanitize=undefined", "-fno-sanitize-recover",
                    f"-I{RUNTIME}", str(src), "-o", str(exe)], check=True)
    payload = np.array([x.size], np.int64).tobytes() + np.concatenate([x, m, s]).astype(np.int64).tobytes()
    got = np.frombuffer(subprocess.run([str(exe)], input=payload, capture_output=True, check=True).stdout,
                        np.int32)
    want = Q.multiply_by_quantized_multiplier(x, m, s)
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, [(int(x[i]), int(m[i]), int(s[i]), int(got[i]), int(want[i])) for i in bad[:5]]


# QUANTIZE of integer input: (input dtype, (scale, zp)), (output dtype, (scale, zp))
REQUANT = {
    "i8_i8_down": (np.int8, (0.5, 5), np.int8, (0.75, -3)),
    "i8_i8_up": (np.int8, (0.02, -128), np.int8, (0.0031, 17)),
    "i8_u8_shift": (np.int8, (0.25, -10), np.uint8, (0.25, 118)),
    "u8_i8": (np.uint8, (0.1, 128), np.int8, (0.07, 0)),
    "u8_u8": (np.uint8, (0.3, 3), np.uint8, (0.2, 250)),
    "i16_i16": (np.int16, (0.001, 0), np.int16, (0.0007, 0)),
    "i16_i8": (np.int16, (0.0005, 0), np.int8, (0.05, -7)),
    # ratios of 1/4 and 1/8: a quarter of the values are exact ties of the final shift, where
    # the vector loop (half up) and the scalar loop (half away) of TFLite's kernel differ (a
    # ratio of 1/2 has none: its one rounding is the high multiply's, the same in both)
    "i8_i8_ties": (np.int8, (0.125, 3), np.int8, (1.0, -2)),
    "i8_i8_ties4": (np.int8, (0.25, -1), np.int8, (1.0, 0)),
    "u8_u8_ties": (np.uint8, (0.25, 128), np.uint8, (1.0, 120)),
    "i8_u8_ties": (np.int8, (0.25, 0), np.uint8, (1.0, 128)),
    "u8_i8_ties": (np.uint8, (0.25, 128), np.int8, (1.0, 0)),
    "i16_i16_ties": (np.int16, (0.25, 0), np.int16, (1.0, 0)),
    "i16_i8_ties": (np.int16, (0.25, 0), np.int8, (128.0, 0)),
}


def _requant_model(case, tmp_path):
    dt_in, qin, dt_out, qout = REQUANT[case]
    info = np.iinfo(dt_in)
    # every 8-bit value, then a tail of 5 beyond TFLite's vector blocks, ties below the zero point
    values = (np.concatenate([np.arange(info.min, info.max + 1), qin[1] - np.array([2, 6, 10, 14, 18])])
              if info.bits == 8 else
              np.concatenate([[info.min, info.max, 0, 1, -1],
                              np.random.default_rng(3).integers(info.min, info.max + 1, 1024)]))
    m = HandModel()
    x = m.input(values.shape, dt_in, quant=qin)
    y = m.output(m._tensor(values.shape, dt_out, quant=qout))
    m.op("QUANTIZE", [x], [y])
    path = tmp_path / f"{case}.tflite"
    path.write_bytes(m.build())
    return path, [values.astype(dt_in)]


@pytest.mark.parametrize("case", sorted(REQUANT))
def test_requantize_matches_tflite(case, tmp_path):
    path, inputs = _requant_model(case, tmp_path)
    ours, _, g = run_ours(path, inputs, tmp_path)
    refs, _ = V.reference_run(str(path), inputs)
    assert ours[0].dtype == refs[0].dtype
    bad = np.flatnonzero(ours[0] != refs[0])
    assert bad.size == 0, [(int(inputs[0][i]), int(ours[0][i]), int(refs[0][i])) for i in bad[:8]]
    check_folding(path, g, inputs)


def test_requantize_values_is_the_kernels_formula():
    p = {"in_zp": 5, "out_zp": -3, "multiplier": 2**30, "shift": 1, "vec": 16}   # a ratio of exactly 1
    x = np.arange(-128, 128)
    np.testing.assert_array_equal(requantize_values(x, p, "int8"), np.clip(x - 5 - 3, -128, 127))


# QUANTIZE float32 -> integer and DEQUANTIZE integer -> float32: TFLite's vector loop takes
# blocks of 8 and rounds differently from its scalar loop over the rest (dequantize.h);
# inputs of exact ties (QUANTIZE) or every value (DEQUANTIZE), with a tail past the blocks.
AFFINE = {"i8": (np.int8, (0.5, -3)), "u8": (np.uint8, (0.25, 130)), "i16": (np.int16, (0.125, 0))}


def _affine_model(op, dt, q, n, tmp_path):
    m = HandModel()
    if op == "QUANTIZE":
        x = m.input((n,), np.float32)
        y = m.output(m._tensor((n,), dt, quant=q))
    else:
        x = m.input((n,), dt, quant=q)
        y = m.output(m._tensor((n,), np.float32))
    m.op(op, [x], [y])
    path = tmp_path / f"{op}.tflite"
    path.write_bytes(m.build())
    return path


@pytest.mark.parametrize("case", sorted(AFFINE))
def test_quantize_float_ties_match_tflite(case, tmp_path):
    dt, (scale, zp) = AFFINE[case]
    k = np.arange(-40, 43)                         # 83 values: 10 blocks of 8 and a tail of 3
    x = ((k + 0.5) * scale).astype(np.float32)     # every one an exact tie
    x[[3, 81]] = [np.nan, np.inf]
    path = _affine_model("QUANTIZE", dt, (scale, zp), x.size, tmp_path)
    ours, _, g = run_ours(path, [x], tmp_path)
    refs, _ = V.reference_run(str(path), [x])
    np.testing.assert_array_equal(ours[0], refs[0])
    check_folding(path, g, [x])


@pytest.mark.parametrize("case", sorted(AFFINE))
def test_dequantize_bits_match_tflite(case, tmp_path):
    dt, (scale, zp) = AFFINE[case]
    info = np.iinfo(dt)
    x = np.random.default_rng(2).integers(info.min, info.max + 1, 8 * 40 + 5).astype(dt)
    if info.bits == 8:
        x[:256] = np.arange(info.min, info.max + 1)
    path = _affine_model("DEQUANTIZE", dt, (scale * 1.37, zp), x.size, tmp_path)
    ours, _, g = run_ours(path, [x], tmp_path)
    refs, _ = V.reference_run(str(path), [x])
    assert ours[0].tobytes() == refs[0].tobytes()
    check_folding(path, g, [x])
