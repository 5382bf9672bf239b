"""Dynamic-range ("hybrid") FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D (float32
activations, constant int8 weights) give TFLite's float outputs bit for bit.

The models are tests/models/quantized_hybrid/ (make_quantized_hybrid_models.py): converter
output (asymmetric input quantization, per-channel weights) and hand-built cases of
TFLite's symmetric paths. Every node of interest must compile as the hybrid variant (not
folded to float weights), so a pass here is the int8 arithmetic's.
"""
import json
import sys

import numpy as np
import pytest

import dlcoder.ops as ops
from dlcoder import compiler, quant as Q, verify as V
from dlcoder.errors import DlcoderError
import test_quantized_isa as TQI
from support import TESTS, aarch64_toolchain, load_npz_inputs, run_ours

sys.path.insert(0, str(TESTS / "models"))
from make_quantized_hybrid_models import QHandModel, rows  # noqa: E402

HERE = TESTS / "models" / "quantized_hybrid"
CASES = sorted(json.loads((HERE / "index.json").read_text()))
HYBRID_OPS = ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D")


@pytest.mark.parametrize("case", CASES)
def test_hybrid_matches_tflite_exactly(case, tmp_path):
    path = HERE / f"{case}.tflite"
    g0 = compiler.load_graph(str(path))
    hybrid = [n for n in g0.nodes if n.op in HYBRID_OPS and ops.kind(n, g0) == "hybrid"]
    assert hybrid, f"{case}: no dynamic-range node: the model tests nothing"
    _, g = compiler.compile_graph(g0, "m")
    assert sum(ops.kind(n, g) == "hybrid" for n in g.nodes) == len(hybrid), \
        f"{case}: a hybrid node was rewritten to something else"
    inputs = load_npz_inputs(HERE / f"{case}.npz", g0)
    ours, _, _ = run_ours(path, inputs, tmp_path)
    refs, _ = V.reference_run(str(path), inputs)
    for o, r in zip(ours, refs):
        assert o.shape == r.shape and o.dtype == r.dtype
        diff = np.abs(o.astype(np.float64) - r)
        assert o.tobytes() == r.tobytes(), (f"{case}: {int((o != r).sum())} of {r.size} differ, "
                                             f"by up to {diff.max():.3g}")


def test_quantize_rows_is_what_the_kernel_takes(tmp_path):
    """quant.hybrid_quantize_rows, the numpy statement of the input quantization, against
    TFLite through a one-unit FULLY_CONNECTED per input value: weight 1 at that value's
    position, scale 1, so each output is q * input scale (and - zp * 1 asymmetrically)."""
    rng = np.random.default_rng(7)
    n = 24
    x = np.stack([rng.standard_normal(n) * 3 + 1, rng.uniform(0, 5, n), -rng.uniform(0, 5, n),
                  np.zeros(n), (rng.integers(0, 255, n) * 0.5 + 0.25)]).astype(np.float32)
    for asymmetric in (False, True):
        m = QHandModel()
        xi = m.input(list(x.shape))
        w = m.qconst(np.eye(n, dtype=np.int8), np.ones(n, np.float32), 0)
        y = m.output(m.tensor(list(x.shape)))
        m.op("FULLY_CONNECTED", [xi, w], [y], "FullyConnectedOptions",
             AsymmetricQuantizeInputs=asymmetric)
        p = tmp_path / f"eye_{asymmetric}.tflite"
        p.write_bytes(m.build())
        ref = V.reference_run(str(p), [x])[0][0]
        q, s, zp = Q.hybrid_quantize_rows(x, asymmetric)
        want = (q.astype(np.int32) - zp[:, None]).astype(np.float32) * s[:, None]
        np.testing.assert_array_equal(want, ref)


def _dw_model(per_channel: bool) -> bytes:
    m = QHandModel()
    x = m.input([1, 5, 5, 4])
    scales = np.array([0.01, 0.02, 0.03, 0.04], np.float32) if per_channel else 0.01
    w = m.qconst(np.ones((1, 3, 3, 4), np.int8), scales, 3)
    y = m.output(m.tensor([1, 5, 5, 4]))
    m.op("DEPTHWISE_CONV_2D", [x, w, m.const(np.zeros(4, np.float32))], [y], "DepthwiseConv2DOptions",
         Padding=0, StrideW=1, StrideH=1, DepthMultiplier=1, DilationWFactor=1, DilationHFactor=1)
    return m.build()


def _conv_model(dilation: int) -> bytes:
    m = QHandModel()
    x = m.input([1, 9, 9, 4])
    w = m.qconst(np.ones((3, 3, 3, 4), np.int8), np.array([0.01, 0.02, 0.03], np.float32), 0)
    y = m.output(m.tensor([1, 9, 9, 3]))
    m.op("CONV_2D", [x, w, m.const(np.zeros(3, np.float32))], [y], "Conv2DOptions", Padding=0,
         StrideW=1, StrideH=1, DilationWFactor=dilation, DilationHFactor=dilation)
    return m.build()


@pytest.mark.parametrize("build, why", [
    (lambda: _dw_model(False), "needs one scale per output channel"),
    (lambda: _conv_model(2), "dilated CONV_2D with per-channel dynamic-range weights"),
])
def test_refused(build, why, tmp_path):
    p = tmp_path / "m.tflite"
    p.write_bytes(build())
    with pytest.raises(DlcoderError, match=why):
        compiler.compile_graph(compiler.load_graph(str(p)), "m")


def test_refusal_models_are_otherwise_accepted(tmp_path):
    """The refused models above differ from accepted ones only in what is refused."""
    for data in (_dw_model(True), _conv_model(1)):
        p = tmp_path / "ok.tflite"
        p.write_bytes(data)
        compiler.compile_graph(compiler.load_graph(str(p)), "m")


# ---- TFLite's x86 SSE arithmetic: long rows of one sign, weights -128 -------------------
# The weight row sums for the zero point are ReductionSumVector's (int16 lanes that wrap,
# quant.hybrid_sse_row_sums); the FULLY_CONNECTED dot product, and CONV_2D's per-tensor
# one when out_c % 4 != 0, is SSSE3's _mm_sign_epi8/_mm_maddubs_epi16, which takes a weight
# -128 against a negative input as +128 in whole blocks of 16 (qhybrid.h hybrid_dot_sse).
def _exact(data: bytes, x: np.ndarray, tmp_path):
    p = tmp_path / "m.tflite"
    p.write_bytes(data)
    g0 = compiler.load_graph(str(p))
    assert [ops.kind(n, g0) for n in g0.nodes] == ["hybrid"]
    ours = run_ours(p, [x], tmp_path)[0][0]
    ref = V.reference_run(str(p), [x])[0][0]
    assert ours.shape == ref.shape
    assert ours.tobytes() == ref.tobytes(), f"{int((ours != ref).sum())} of {ref.size} differ"


def _fc(w, scales, asymmetric, rows):
    m = QHandModel()
    x = m.input([rows, w.shape[1]])
    wt = m.qconst(w, scales, 0)
    y = m.output(m.tensor([rows, w.shape[0]]))
    m.op("FULLY_CONNECTED", [x, wt, m.const(np.linspace(-1, 1, w.shape[0]).astype(np.float32))], [y],
         "FullyConnectedOptions", AsymmetricQuantizeInputs=asymmetric)
    return m.build()


def _conv(w, scales, x_shape):
    m = QHandModel()
    x = m.input(list(x_shape))
    wt = m.qconst(w, scales, 0)
    oc = w.shape[0]
    y = m.output(m.tensor([x_shape[0], x_shape[1], x_shape[2], oc]))
    m.op("CONV_2D", [x, wt, m.const(np.zeros(oc, np.float32))], [y], "Conv2DOptions", Padding=0,
         StrideW=1, StrideH=1, DilationWFactor=1, DilationHFactor=1)
    return m.build()


def _one_sign(shape, sign):
    """Weights 63 (127 in the last 8 of half the rows) times sign: row sums that pass int16
    in ReductionSumVector's lanes."""
    w = np.full(shape, 63 * sign, np.int8)
    w[: shape[0] // 2, ..., -8:] = 127 * sign
    return w


def _positive_and_negative_rows(rng, shape):
    x = rng.uniform(0.1, 2.0, shape).astype(np.float32)
    x[1::2] = -x[1::2]      # rows of one sign: the zero point at either end
    return x


@pytest.mark.parametrize("k", [4168, 4175, 16 * 300])
@pytest.mark.parametrize("sign", [1, -1])
def test_fc_long_one_sign_rows(k, sign, tmp_path):
    w = _one_sign((6, k), sign)
    sums = Q.hybrid_sse_row_sums(w)
    assert (sums != Q.hybrid_row_sums(w)).all(), "the row sums do not wrap: the case tests nothing"
    x = _positive_and_negative_rows(np.random.default_rng(k), (4, k))
    # the zero point's share is taken off in int32 (not in float32 as BATCH_MATMUL does)
    q, _, zp = Q.hybrid_quantize_rows(x, True)
    dot = q.astype(np.int64) @ w.astype(np.int64).T
    in_float = (dot.astype(np.float32) - sums.astype(np.float32) * zp[:, None].astype(np.float32))
    if k == 4168:
        assert (in_float.astype(np.int64) != dot - zp[:, None] * sums.astype(np.int64)).any()
    _exact(_fc(w, 0.01, True, 4), x, tmp_path)
    if sign == 1 and k == 4168:
        _exact(_fc(w, 0.01, False, 4), x, tmp_path)


@pytest.mark.parametrize("k", [16, 40, 4168, 13])
@pytest.mark.parametrize("asymmetric", [True, False])
@pytest.mark.parametrize("per_channel", [True, False])
def test_fc_weights_minus_128(k, asymmetric, per_channel, tmp_path):
    rng = np.random.default_rng(k)
    w = rng.integers(-128, 128, (8, k)).astype(np.int8)
    w[:, ::3] = -128
    assert Q.hybrid_sse_dot_differs(w) == (k >= 16)
    x = (rng.standard_normal((4, k)) * 2 - 0.5).astype(np.float32)
    x[0, :5] = x[0].min()       # q = -128 (asymmetric) / -127 against weight -128
    scales = rng.uniform(0.005, 0.02, 8).astype(np.float32) if per_channel else 0.01
    _exact(_fc(w, scales, asymmetric, 4), x, tmp_path)


@pytest.mark.parametrize("kernel, in_c", [(1, 4168), (3, 512)])
@pytest.mark.parametrize("sign", [1, -1])
def test_conv_per_channel_long_one_sign_rows(kernel, in_c, sign, tmp_path):
    w = _one_sign((6, kernel, kernel, in_c), sign)
    assert (Q.hybrid_sse_row_sums(w.reshape(6, -1)) != Q.hybrid_row_sums(w.reshape(6, -1))).all()
    x = _positive_and_negative_rows(np.random.default_rng(in_c), (2, 4, 4, in_c))
    _exact(_conv(w, np.linspace(0.01, 0.02, 6).astype(np.float32), x.shape), x, tmp_path)


@pytest.mark.parametrize("out_c", [5, 6, 8])
@pytest.mark.parametrize("per_channel", [True, False])
def test_conv_weights_minus_128(out_c, per_channel, tmp_path):
    """Per-tensor with out_c % 4 != 0 is TFLite's SSE dot product; else ruy's exact GEMM."""
    rng = np.random.default_rng(out_c)
    w = rng.integers(-128, 128, (out_c, 3, 3, 16)).astype(np.int8)
    w[..., ::3] = -128
    x = (rng.standard_normal((1, 6, 6, 16)) * 2 - 0.5).astype(np.float32)
    scales = np.linspace(0.01, 0.02, out_c).astype(np.float32) if per_channel else 0.01
    _exact(_conv(w, scales, x.shape), x, tmp_path)


@pytest.mark.parametrize("kernel, channels, fill", [(3, 512, -128), (9, 64, 127)])
def test_depthwise_long_kernels_and_minus_128(kernel, channels, fill, tmp_path):
    """TFLite's hybrid depthwise kernel (x86) accumulates (q - zp) * w in int32: exact."""
    rng = np.random.default_rng(channels)
    w = np.full((1, kernel, kernel, channels), 127, np.int8)
    w[..., ::5] = fill
    m = QHandModel()
    shape = (2, kernel, kernel, channels)
    xi = m.input(list(shape))
    wt = m.qconst(w, np.linspace(0.01, 0.02, channels).astype(np.float32), 3)
    y = m.output(m.tensor(list(shape)))
    m.op("DEPTHWISE_CONV_2D", [xi, wt, m.const(np.zeros(channels, np.float32))], [y],
         "DepthwiseConv2DOptions", Padding=0, StrideW=1, StrideH=1, DepthMultiplier=1,
         DilationWFactor=1, DilationHFactor=1)
    x = _positive_and_negative_rows(rng, shape) if fill == 127 else \
        (rng.standard_normal(shape) * 2 - 0.5).astype(np.float32)
    _exact(m.build(), x, tmp_path)


# ---- every instruction-set path of the kernels (qhybrid.h on qlinear.h / qdepthwise.h) --
# One model of independent ops whose sizes land on the kernels' edges: output channels not
# a multiple of the panel (16) or the depthwise block (32, and 16 / 8 of AVX2 / SSE2),
# fewer channels than a block (side by side at stride 1), k not a multiple of 4, more rows
# than an AMX tile, stride 2 with SAME padding (border taps holding the zero point),
# dilation, depth multiplier 2 (the portable depthwise loop), batch 2 (a zero point per
# image), per-tensor (symmetric) and per-channel (asymmetric) weights, FC rows of their own.
_ACTS = {"NONE": 0, "RELU": 1, "RELU6": 3}


def _isa_conv(m, rng, x_shape, w_shape, stride, dil, padding, act, per_channel):
    oc, kh, kw, _ = w_shape
    out = [x_shape[0]] + [(-(-n // s) if padding == "SAME" else -(-(n - (k - 1) * d) // s))
                          for n, k, s, d in zip(x_shape[1:3], (kh, kw), stride, dil)] + [oc]
    scales = rng.uniform(0.004, 0.02, oc).astype(np.float32) if per_channel else 0.013
    ins = [m.input(list(x_shape)), m.qconst(rng.integers(-127, 128, w_shape), scales, 0),
           m.const(rng.standard_normal(oc).astype(np.float32))]
    m.op("CONV_2D", ins, [m.output(m.tensor(out))], "Conv2DOptions", version=2,
         Padding=0 if padding == "SAME" else 1, StrideH=stride[0], StrideW=stride[1],
         DilationHFactor=dil[0], DilationWFactor=dil[1], FusedActivationFunction=_ACTS[act])
    return x_shape


def _isa_dw(m, rng, x_shape, k, mult, stride, dil, padding, act):
    c = x_shape[3] * mult
    out = [x_shape[0]] + [(-(-n // s) if padding == "SAME" else -(-(n - (k - 1) * d) // s))
                          for n, s, d in zip(x_shape[1:3], stride, dil)] + [c]
    ins = [m.input(list(x_shape)), m.qconst(rng.integers(-127, 128, (1, k, k, c)),
                                            rng.uniform(0.004, 0.02, c).astype(np.float32), 3),
           m.const(rng.standard_normal(c).astype(np.float32))]
    m.op("DEPTHWISE_CONV_2D", ins, [m.output(m.tensor(out))], "DepthwiseConv2DOptions", version=2,
         Padding=0 if padding == "SAME" else 1, StrideH=stride[0], StrideW=stride[1], DepthMultiplier=mult,
         DilationHFactor=dil[0], DilationWFactor=dil[1], FusedActivationFunction=_ACTS[act])
    return x_shape


def _isa_fc(m, rng, rows, k, units, act, asymmetric, per_channel):
    scales = rng.uniform(0.004, 0.02, units).astype(np.float32) if per_channel else 0.011
    ins = [m.input([rows, k]), m.qconst(rng.integers(-127, 128, (units, k)), scales, 0),
           m.const(rng.standard_normal(units).astype(np.float32))]
    m.op("FULLY_CONNECTED", ins, [m.output(m.tensor([rows, units]))], "FullyConnectedOptions",
         FusedActivationFunction=_ACTS[act], AsymmetricQuantizeInputs=asymmetric)
    return (rows, k)


_ISA_CASES = [
    (_isa_conv, ((2, 9, 10, 5), (13, 3, 3, 5), (2, 2), (1, 1), "SAME", "RELU6", True)),
    (_isa_conv, ((1, 7, 7, 96), (40, 1, 1, 96), (1, 1), (1, 1), "VALID", "NONE", True)),
    (_isa_conv, ((2, 5, 7, 19), (37, 1, 1, 19), (1, 1), (1, 1), "VALID", "RELU", True)),
    (_isa_conv, ((1, 15, 37, 3), (16, 3, 3, 3), (2, 2), (1, 1), "SAME", "NONE", True)),
    (_isa_conv, ((2, 6, 7, 9), (12, 3, 3, 9), (1, 1), (1, 1), "SAME", "RELU", False)),
    (_isa_conv, ((1, 12, 10, 6), (7, 3, 3, 6), (1, 2), (2, 1), "VALID", "NONE", False)),
    (_isa_dw, ((1, 9, 8, 21), 3, 1, (2, 2), (1, 1), "SAME", "RELU6")),
    (_isa_dw, ((2, 6, 5, 40), 3, 1, (1, 1), (1, 1), "SAME", "NONE")),
    (_isa_dw, ((1, 5, 23, 8), 3, 1, (1, 1), (1, 1), "SAME", "RELU")),
    (_isa_dw, ((1, 9, 10, 72), 5, 1, (2, 2), (1, 1), "SAME", "NONE")),
    (_isa_dw, ((1, 12, 12, 4), 5, 1, (1, 1), (2, 2), "VALID", "RELU6")),
    (_isa_dw, ((2, 9, 10, 3), 3, 2, (2, 2), (1, 1), "SAME", "NONE")),
    (_isa_fc, (3, 37, 11, "NONE", True, True)),
    (_isa_fc, (13, 130, 33, "RELU", False, True)),
    (_isa_fc, (5, 64, 19, "NONE", True, False)),
]


def _isa_inputs(rng, shape, k):
    """Images of different ranges and zero points: mixed signs, then all positive (zero
    point -128) in every third case, all negative in the next."""
    x = rows(rng, shape)
    if k % 3 == 1:
        x = np.abs(x)
    elif k % 3 == 2:
        x = -np.abs(x)
    return x.astype(np.float32)


def build_isa_model(path) -> list:
    """Writes the model of _ISA_CASES to path; returns its inputs."""
    rng = np.random.default_rng(5)
    m = QHandModel()
    shapes = [build(m, rng, *args) for build, args in _ISA_CASES]
    path.write_bytes(m.build())
    g = compiler.load_graph(str(path))
    assert all(ops.kind(n, g) == "hybrid" for n in g.nodes)
    return [_isa_inputs(rng, s, k) for k, s in enumerate(shapes)]


def _isa_check(tmp_path, flags, cxx=None, emulator=()):
    path = tmp_path / "cases.tflite"
    inputs = build_isa_model(path)
    ours, _, _ = run_ours(path, inputs, tmp_path, flags=flags, cxx=cxx, emulator=emulator)
    refs, _ = V.reference_run(str(path), inputs)
    bad = [f"case {k} ({_ISA_CASES[k][0].__name__} {_ISA_CASES[k][1]}): {int((o != r).sum())} of {r.size} differ"
           for k, (o, r) in enumerate(zip(ours, refs)) if o.tobytes() != r.tobytes()]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("path", sorted(TQI.X86_PATHS))
def test_x86_path(path, tmp_path):
    _isa_check(tmp_path, TQI.x86_flags(path))


def test_x86_vnni_without_amx(tmp_path):
    _isa_check(tmp_path, TQI.x86_flags("avx512vnni") + ("-DDLCODER_RT_FORCE_AMX=0",))


def test_x86_fp_contract_fast(tmp_path):
    """GCC's GNU modes contract a * b + c into an FMA (one rounding) where the target has
    one, as the AVX2 and AVX-512 kernels' targets do: the kernels keep the two roundings."""
    _isa_check(tmp_path, ("-O2", "-ffp-contract=fast"))


@pytest.mark.parametrize("path", sorted(TQI.AARCH64_PATHS))
def test_aarch64_path(path, tmp_path):
    cxx, emulator = aarch64_toolchain()
    _isa_check(tmp_path, TQI.AARCH64_PATHS[path] + ("-ffp-contract=fast",), cxx=cxx, emulator=emulator)
