"""The paths of small quantized models (issue 19: lenet5_int8) give TFLite's bytes on every
x86 path, and on NEON under qemu: the im2col copies of the quantized CONV_2D for few input channels (AMX:
simd_qamx.h's Im2col, one masked load and store per kernel row of 16, 32 or 64 bytes,
padding in the mask; the other ISAs: simd_qlinear_driver.h's conv_rows, a kernel row as
padding, one run of the columns inside, padding) and the 8-bit pools' vector kernels
(qreduce.h: qpool, whole windows in registers, the average's division in float, the
maxima on bytes: 64 channels per AVX-512 register with a masked tail, 32 then 16 on AVX2,
then one by one).

One hand-built model holds every case side by side (test_quantized_isa.py's builders):
1 to 4 input channels, kernels 3 and 5, strides 1 and 2, SAME and VALID, windows wider
than the input on both sides, a kernel row past 64 bytes and a dilation (the tap-by-tap
paths), per-channel and per-tensor weights, uint8; pools on 1 to 17 channels (AVX2's
partial last chunk, read past its channels or not at the input's end), max pools on 50,
70 and 128 channels (every byte block and tail), averages over
windows that padding cuts to 1, 2, 4 or 6 cells, a fused RELU6. Beside it, without a
compile: the identity the average's float division rests on.
"""
import numpy as np
import pytest

import test_quantized_isa as TQI
import test_quantized_linear as TQL
from support import aarch64_toolchain, assert_bytes_match

CONV = TQL._conv_model
# name: (dtype, input, filter, stride, dilation, padding, act, per_channel, depthwise)
CONV_CASES = {
    "lenet_c1_5x5_same": (np.int8, (1, 28, 28, 1), (6, 5, 5, 1), (1, 1), (1, 1), "SAME", "NONE", True, False),
    "c2_3x3_s2_same": (np.int8, (1, 9, 10, 2), (5, 3, 3, 2), (2, 2), (1, 1), "SAME", "RELU6", True, False),
    "c3_5x5_valid_b2": (np.int8, (2, 9, 8, 3), (7, 5, 5, 3), (1, 1), (1, 1), "VALID", "RELU", False, False),
    "c4_5x5_s2_same": (np.int8, (1, 11, 12, 4), (17, 5, 5, 4), (2, 2), (1, 1), "SAME", "NONE", True, False),
    "c1_5x5_narrow": (np.int8, (1, 3, 2, 1), (3, 5, 5, 1), (1, 1), (1, 1), "SAME", "NONE", True, False),
    "c4_3x3_s2_valid_u8": (np.uint8, (1, 10, 9, 4), (6, 3, 3, 4), (2, 1), (1, 1), "VALID", "RELU6", False, False),
    "c12_5x5_row60": (np.int8, (1, 7, 8, 12), (9, 5, 5, 12), (1, 1), (1, 1), "SAME", "NONE", True, False),
    "c10_7x7_row70": (np.int8, (1, 8, 9, 10), (5, 7, 7, 10), (2, 2), (1, 1), "SAME", "RELU", True, False),
    "c2_3x3_dil2": (np.int8, (1, 9, 9, 2), (4, 3, 3, 2), (1, 1), (2, 2), "SAME", "NONE", True, False),
    "c6_5x5_lenet2": (np.int8, (1, 14, 14, 6), (16, 5, 5, 6), (1, 1), (1, 1), "VALID", "NONE", True, False),
}
# (op, input shape, filter, stride, padding (0 SAME, 1 VALID), fused activation (0 none, 3 RELU6))
POOL_CASES = [
    ("AVERAGE_POOL_2D", (1, 28, 28, 6), 2, 2, 1, 0), ("AVERAGE_POOL_2D", (1, 10, 10, 16), 2, 2, 1, 0),
    ("AVERAGE_POOL_2D", (1, 5, 6, 1), 3, 2, 0, 0), ("AVERAGE_POOL_2D", (2, 5, 5, 7), 3, 2, 0, 3),
    ("AVERAGE_POOL_2D", (1, 4, 7, 17), 3, 1, 0, 0), ("AVERAGE_POOL_2D", (1, 3, 3, 9), 2, 1, 0, 0),
    ("MAX_POOL_2D", (1, 5, 6, 3), 3, 2, 0, 0), ("MAX_POOL_2D", (2, 4, 5, 13), 2, 2, 1, 3),
    ("MAX_POOL_2D", (1, 6, 6, 17), 2, 1, 0, 0), ("MAX_POOL_2D", (1, 5, 7, 50), 3, 2, 0, 3),
    ("MAX_POOL_2D", (2, 4, 4, 70), 2, 1, 1, 0), ("MAX_POOL_2D", (1, 5, 5, 128), 3, 2, 0, 0),
]


def _add_pools(m, rng, dt, inputs):
    info = np.iinfo(dt)
    shift = 0 if dt == np.int8 else 128
    for op, shape, f, st, pad, act in POOL_CASES:
        x = m.input(shape, dt, quant=(0.1, shift))
        n, h, w, c = shape
        oh, ow = ((h + st - 1) // st, (w + st - 1) // st) if pad == 0 else ((h - f) // st + 1, (w - f) // st + 1)
        y = m.output(m._tensor((n, oh, ow, c), dt, quant=(0.1, shift)))
        m.op(op, [x], [y], "Pool2DOptions", Padding=pad, StrideW=st, StrideH=st, FilterWidth=f, FilterHeight=f,
             FusedActivationFunction=act)
        v = rng.integers(info.min, int(info.max) + 1, shape).astype(dt)
        v.reshape(-1)[:2] = [info.min, info.max]
        inputs.append(v)


def _build(path):
    """One model with every case (the builders add to the same HandModel); returns the
    inputs and the name of every output."""
    inputs, names = [], []
    with TQL.one_model() as shared:
        for k, (name, args) in enumerate(CONV_CASES.items()):
            _, xs = CONV(*args, seed=2000 + k)
            inputs += xs
            names.append(name)
    for dt in (np.int8, np.uint8):
        _add_pools(shared, np.random.default_rng(7), dt, inputs)
        names += [f"{op} {shape} {np.dtype(dt).name}" for op, shape, *_ in POOL_CASES]
    path.write_bytes(shared.build())
    return inputs, names


def _check(tmp_path, flags, cxx=None, emulator=()):
    path = tmp_path / "qsmall.tflite"
    inputs, names = _build(path)
    assert_bytes_match(path, inputs, names, tmp_path, cxx=cxx, flags=flags, emulator=emulator)


# the machine's own choice (AMX where the CPU has AMX-INT8: test_quantized_isa.py's
# test_amx_is_used_where_the_cpu_has_it), then each x86 path forced, then NEON under qemu
PATHS = ["native", "vnni_without_amx", "avx512bw", "avx2", "scalar", "aarch64"]


@pytest.mark.parametrize("path", PATHS)
def test_small_paths_match_tflite(path, tmp_path):
    cxx, emulator = None, ()
    if path in ("native", "aarch64"):
        flags = ("-O2",)
        if path == "aarch64":
            cxx, emulator = aarch64_toolchain()
    elif path == "vnni_without_amx":
        flags = TQI.x86_flags("avx512vnni") + ("-DDLCODER_RT_FORCE_AMX=0",)
    else:
        flags = TQI.x86_flags(path)
    _check(tmp_path, flags, cxx, emulator)


def test_average_float_division_is_exact():
    """qreduce.h (qpool): for every sum of an 8-bit window of 1 to 300 cells, the truncated
    float32 quotient of (acc +- count / 2) / count is TFLite's integer one."""
    for count in range(1, 301):
        acc = np.arange(-128 * count, 255 * count + 1, dtype=np.int64)
        n = np.where(acc > 0, acc + count // 2, acc - count // 2)
        want = np.where(n >= 0, n // count, -((-n) // count))
        got = np.trunc(n.astype(np.float32) / np.float32(count)).astype(np.int64)
        assert np.array_equal(got, want), count
