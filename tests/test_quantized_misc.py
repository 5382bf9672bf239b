"""Quantized TRANSPOSE_CONV, LOG_SOFTMAX, RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR and
the dynamic-range (hybrid) BATCH_MATMUL against TFLite's builtin kernels, byte for byte
(float outputs: bit for bit).

Hand-built one-op models (tests/models/op_hand.py) and two converter models
(tests/models/quantized_misc/, tests/models/make_quantized_misc_models.py). Tie-forcing
scales make the requantization's rounding mode show; each such test also checks, in
numpy, that its inputs do land on ties in the channels of both rounding modes.
"""
import sys
import zlib

import numpy as np
import pytest

from dlcoder import compiler, quant as Q, verify as V
from dlcoder.errors import DlcoderError
from support import TESTS, aarch64_toolchain, byte_mismatches, run_ours
from test_isa import x86_isa
from test_quantized_isa import X86_PATHS, x86_flags

sys.path.insert(0, str(TESTS / "models"))
from op_hand import HandModel  # noqa: E402

MODELS = TESTS / "models" / "quantized_misc"
ACTS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}


def _ints(rng, dt, shape, zp=None):
    info = np.iinfo(dt)
    x = rng.integers(info.min, info.max + 1, shape).astype(dt)
    x.reshape(-1)[:3] = [info.min, info.max, info.min if zp is None else zp]
    return x


def _write(m, tmp_path, name="m"):
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(m.build())
    return path


def _check(path, inputs, tmp_path):
    refs, _ = V.reference_run(str(path), inputs)
    ours, _, _ = run_ours(path, inputs, tmp_path)
    assert len(ours) == len(refs)
    for k, (o, r) in enumerate(zip(ours, refs)):
        assert o.dtype == r.dtype and o.shape == r.shape, (k, o.dtype, r.dtype, o.shape, r.shape)
        a, b = (o.view(np.int32), r.view(np.int32)) if r.dtype == np.float32 else (o, r)
        bad = np.flatnonzero(a.ravel() != b.ravel())
        assert bad.size == 0, (f"output {k}: {bad.size} of {r.size} differ; first at {bad[:5]}: "
                               f"ours {o.ravel()[bad[:5]]} tflite {r.ravel()[bad[:5]]}")


def _refused(path, match):
    with pytest.raises(DlcoderError, match=match):
        compiler.compile_graph(compiler.load_graph(str(path)), "m")


# ---- TRANSPOSE_CONV ------------------------------------------------------------------------
def _tconv(dt, x_shape, oc, k, stride, padding, act, per_channel, seed, qx, qy, w_scale=None,
           bias=True, out_hw=None):
    """(model, input, numpy accumulators, multipliers) of a quantized TRANSPOSE_CONV; its
    output size out_hw, by default in * stride (SAME) or (in - 1) * stride + k (VALID)."""
    rng = np.random.default_rng(seed)
    n, ih, iw, ic = x_shape
    (kh, kw), (sh, sw) = k, stride
    oh, ow = out_hw or ((ih * sh, iw * sw) if padding == "SAME" else ((ih - 1) * sh + kh, (iw - 1) * sw + kw))
    m = HandModel()
    shape_t = m.const(np.array([n, oh, ow, oc], np.int32))
    if dt == np.int8:
        w = rng.integers(-127, 128, (oc, kh, kw, ic)).astype(np.int8)
        ws = (np.full(oc, w_scale, np.float32) if w_scale else rng.uniform(0.001, 0.02, oc).astype(np.float32))
        qw = (ws, np.zeros(oc, np.int64), 0) if per_channel else (float(ws[0]), 0)
        wz = w.astype(np.int64)
    else:
        w = rng.integers(0, 256, (oc, kh, kw, ic)).astype(np.uint8)
        ws = np.full(oc, w_scale or 0.006, np.float32)
        qw = (float(ws[0]), 131)
        wz = w.astype(np.int64) - 131
    if not per_channel:
        ws = np.full(oc, ws[0], np.float32)
    ins = [shape_t, m.const(w, quant=qw), m.input(x_shape, dt, quant=qx)]
    b = np.zeros(oc, np.int64)
    if bias:
        b = rng.integers(-3000, 3000, oc).astype(np.int32)
        scale = np.asarray(ws if per_channel else ws[:1], np.float32) * np.float32(qx[0])
        ins.append(m.const(b, quant=(scale, np.zeros(scale.size, np.int64), 0)))
    y = m.output(m._tensor((n, oh, ow, oc), dt, quant=qy))
    m.op("TRANSPOSE_CONV", ins, [y], "TransposeConvOptions", Padding=0 if padding == "SAME" else 1,
         StrideH=sh, StrideW=sw, FusedActivationFunction=ACTS[act])
    x = _ints(rng, dt, x_shape, qx[1])
    # the accumulators, by scattering each input pixel's products (TFLite's col2im)
    top = left = 0
    if padding == "SAME":
        top = max(((oh + sh - 1) // sh - 1) * sh + kh - oh, 0) // 2
        left = max(((ow + sw - 1) // sw - 1) * sw + kw - ow, 0) // 2
    acc = np.zeros((n, oh, ow, oc), np.int64) + np.asarray(b, np.int64)
    xd = x.astype(np.int64) - qx[1]
    for iy in range(ih):
        for ix in range(iw):
            for ky in range(kh):
                for kx in range(kw):
                    oy, ox = iy * sh - top + ky, ix * sw - left + kx
                    if 0 <= oy < oh and 0 <= ox < ow:
                        acc[:, oy, ox, :] += xd[:, iy, ix, :] @ wz[:, ky, kx, :].T
    mult, shift = Q.quantize_multipliers(Q.effective_scales(qx[0], ws, qy[0]))
    return m, x, acc, (mult, shift)


def _ties(acc, mult, shift) -> np.ndarray:
    """Where the two rounding modes of the final shift differ, per accumulator."""
    return (Q.multiply_by_quantized_multiplier(acc, mult, shift, "up") !=
            Q.multiply_by_quantized_multiplier(acc, mult, shift, "away"))


TIE_Q = {np.int8: ((0.5, 12), (4.0, 12)), np.uint8: ((0.5, 120), (4.0, 128))}

TCONV_TIES = {
    # int8: channels [0, 8 * floor(oc / 8)) round half up, the rest half away
    "i8_per_channel_19": (np.int8, (2, 5, 7, 3), 19, (3, 3), (2, 2), "VALID", "NONE", True),
    "i8_per_tensor_13_same": (np.int8, (1, 6, 5, 4), 13, (3, 3), (2, 2), "SAME", "NONE", False),
    # uint8: the flat output in blocks of 16 half up, the last size % 16 half away
    "u8_11": (np.uint8, (1, 7, 7, 3), 11, (3, 3), (2, 2), "VALID", "NONE", False),
    "u8_5_same": (np.uint8, (1, 6, 5, 4), 5, (4, 3), (2, 1), "SAME", "NONE", False),
}


@pytest.mark.parametrize("case", sorted(TCONV_TIES))
def test_transpose_conv_rounding_matches_tflite(case, tmp_path):
    dt, xs, oc, k, stride, pad, act, pc = TCONV_TIES[case]
    qx, qy = TIE_Q[dt]
    m, x, acc, (mult, shift) = _tconv(dt, xs, oc, k, stride, pad, act, pc, zlib.crc32(case.encode()),
                                      qx, qy, w_scale=0.5)
    ties = _ties(acc, mult, shift)
    if dt == np.int8:
        split = oc // 8 * 8
        assert ties[..., :split].any() and ties[..., split:].any(), "no ties in one rounding region"
    else:
        flat = ties.reshape(-1)
        assert flat[:flat.size // 16 * 16].any() and flat[flat.size // 16 * 16:].any(), \
            "no ties in one rounding region"
    _check(_write(m, tmp_path), [x], tmp_path)


TCONV_CASES = {
    "i8_relu6_per_channel": (np.int8, (1, 5, 6, 13), 13, (3, 3), (2, 2), "SAME", "RELU6", True, True),
    "i8_relu_no_bias": (np.int8, (2, 4, 5, 9), 10, (4, 3), (2, 1), "SAME", "RELU", True, False),
    "i8_n1_to_1_per_tensor": (np.int8, (1, 3, 4, 6), 8, (2, 2), (1, 1), "VALID", "RELU_N1_TO_1", False, True),
    "u8_relu6": (np.uint8, (1, 5, 6, 7), 9, (3, 3), (2, 2), "SAME", "RELU6", False, True),
    "u8_no_bias": (np.uint8, (1, 4, 3, 5), 6, (3, 2), (1, 2), "VALID", "NONE", False, False),
}


@pytest.mark.parametrize("case", sorted(TCONV_CASES))
def test_transpose_conv_matches_tflite(case, tmp_path):
    dt, xs, oc, k, stride, pad, act, pc, bias = TCONV_CASES[case]
    qx, qy = ((0.05, -3), (0.08, 5)) if dt == np.int8 else ((0.05, 120), (0.08, 100))
    m, x, _, _ = _tconv(dt, xs, oc, k, stride, pad, act, pc, zlib.crc32(case.encode()), qx, qy, bias=bias)
    _check(_write(m, tmp_path), [x], tmp_path)


def test_transpose_conv_prepare_rejections(tmp_path):
    """What TFLite's Prepare refuses, we refuse, and say why."""
    def model(dt, pc=False):
        q = ((0.05, 3), (0.3, 7)) if dt == np.int8 else ((0.05, 120), (0.3, 128))
        return _tconv(dt, (1, 4, 4, 3), 5, (3, 3), (2, 2), "SAME", "NONE", pc, 1, *q)[:2]
    # int8: a bias zero point other than 0
    m, x = model(np.int8)
    m.tensors[3]["quant"] = (float(np.float32(0.05) * np.float32(0.004)), 2)
    p = _write(m, tmp_path, "bias_zp")
    with pytest.raises(RuntimeError, match="zero_point"):
        V.reference_run(str(p), [x])
    _refused(p, "nonzero zero point")
    # uint8: weights with a scale per channel
    m, x = model(np.uint8)
    m.tensors[1]["quant"] = (np.full(5, 0.006, np.float32), np.full(5, 131, np.int64), 0)
    p = _write(m, tmp_path, "u8_pc")
    with pytest.raises(RuntimeError, match="failed to prepare"):
        V.reference_run(str(p), [x])
    _refused(p, "per channel")
    # uint8: a bias scale off input * weight scale (int8 takes it: TFLite does not check)
    m, x = model(np.uint8)
    m.tensors[3]["quant"] = (0.5, 0)
    p = _write(m, tmp_path, "u8_bias_scale")
    with pytest.raises(RuntimeError, match="scale_diff / output_scale <= 0.02"):
        V.reference_run(str(p), [x])
    _refused(p, "bias scale 0.5 is not input scale")
    m, x = model(np.int8)
    m.tensors[3]["quant"] = (0.5, 0)
    V.reference_run(str(_write(m, tmp_path, "i8_bias_scale")), [x])
    compiler.compile_graph(compiler.load_graph(str(tmp_path / "i8_bias_scale.tflite")), "m")


# ---- RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR ----------------------------------------------
RESIZES = [(oh, ow, align, half) for (oh, ow) in ((10, 14), (3, 4), (9, 5), (1, 1), (11, 20))
           for (align, half) in ((0, 0), (1, 0), (0, 1))]


@pytest.mark.parametrize("dt", [np.int8, np.uint8, np.int16])
def test_resizes_match_tflite(dt, tmp_path):
    """Up and down, 2x (TFLite's special case for float only), both flags, an output
    quantized unlike the input: TFLite moves the integers without requantizing, and so do
    we. int8/int16 bilinear: integer coordinates; uint8: float weights, + 0.5, truncated."""
    m = HandModel()
    in_shape = (2, 5, 7, 3)
    zp = {np.int8: -3, np.uint8: 120, np.int16: 0}[dt]
    x = m.input(in_shape, dt, quant=(0.1, zp))
    for i, (oh, ow, align, half) in enumerate(RESIZES):
        qy = (0.1, zp) if i % 2 else (0.37, zp // 2)
        for op, opts in (("RESIZE_BILINEAR", "ResizeBilinearOptions"),
                         ("RESIZE_NEAREST_NEIGHBOR", "ResizeNearestNeighborOptions")):
            y = m.output(m._tensor((2, oh, ow, 3), dt, quant=qy))
            m.op(op, [x, m.const(np.array([oh, ow], np.int32))], [y], opts, AlignCorners=align,
                 HalfPixelCenters=half)
    rng = np.random.default_rng(7)
    _check(_write(m, tmp_path), [_ints(rng, dt, in_shape)], tmp_path)


def test_bilinear_both_flags_refused_as_tflite(tmp_path):
    m = HandModel()
    x = m.input((1, 3, 3, 2), np.uint8, quant=(0.1, 3))
    y = m.output(m._tensor((1, 5, 5, 2), np.uint8, quant=(0.1, 3)))
    m.op("RESIZE_BILINEAR", [x, m.const(np.array([5, 5], np.int32))], [y], "ResizeBilinearOptions",
         AlignCorners=True, HalfPixelCenters=True)
    p = _write(m, tmp_path)
    with pytest.raises(RuntimeError, match="align_corners must be False"):
        V.reference_run(str(p), [np.zeros((1, 3, 3, 2), np.uint8)])
    _refused(p, "align_corners and half_pixel_centers")


# ---- LOG_SOFTMAX ------------------------------------------------------------------------------
def _log_softmax(dt, shape, qin, qout=None):
    m = HandModel()
    x = m.input(shape, dt, quant=qin)
    y = m.output(m._tensor(shape, dt, quant=qout or (16 / 256, 127 if dt == np.int8 else 255)))
    m.op("LOG_SOFTMAX", [x], [y], "LogSoftmaxOptions")
    return m


@pytest.mark.parametrize("dt", [np.int8, np.uint8])
def test_log_softmax_matches_tflite(dt, tmp_path):
    """Rows short and long, input scales small and large; rows of the extremes, of one
    value, and with the maximum repeated."""
    m = HandModel()
    cases = [((6, 10), (0.1, 3)), ((2, 3, 5, 33), (0.02, -5)), ((4, 300), (0.5, 0)), ((8, 4), (1.3, 10)),
             ((4, 257), (0.004, 7))]
    rng = np.random.default_rng(3)
    inputs = []
    for shape, (s, z) in cases:
        z = z if dt == np.int8 else z + 120
        x = m.input(shape, dt, quant=(s, z))
        y = m.output(m._tensor(shape, dt, quant=(16 / 256, 127 if dt == np.int8 else 255)))
        m.op("LOG_SOFTMAX", [x], [y], "LogSoftmaxOptions")
        v = _ints(rng, dt, shape, z)
        rows = v.reshape(-1, shape[-1])
        info = np.iinfo(dt)
        rows[1] = info.max
        rows[2] = info.min
        rows[3, : shape[-1] // 2] = info.max
        inputs.append(v)
    _check(_write(m, tmp_path), inputs, tmp_path)


@pytest.mark.parametrize("dt,qout", [(np.int8, (0.0625, 0)), (np.int8, (0.1, 127)), (np.uint8, (0.0625, 127))])
def test_log_softmax_output_quantization_tflite_rejects_is_refused(dt, qout, tmp_path):
    p = _write(_log_softmax(dt, (2, 5), (0.1, 0), qout), tmp_path)
    with pytest.raises(RuntimeError, match="failed to prepare"):
        V.reference_run(str(p), [np.zeros((2, 5), dt)])
    _refused(p, "takes only scale 16/256")


# ---- dynamic-range BATCH_MATMUL ----------------------------------------------------------------
@pytest.mark.parametrize("name", ["hybrid_bmm_batched", "hybrid_bmm_broadcast"])
def test_hybrid_batch_matmul_converter_models(name, tmp_path):
    path = MODELS / f"{name}.tflite"
    g = compiler.load_graph(str(path))
    assert [n.op for n in g.nodes] == ["BATCH_MATMUL"]
    rng = np.random.default_rng(5)
    inputs = []
    for t in g.inputs:
        x = (rng.standard_normal(g.tensors[t].shape) * 2).astype(np.float32)
        x.reshape(-1, g.tensors[t].shape[-1])[0] = 0.0          # an all-zero row
        x.reshape(-1, g.tensors[t].shape[-1])[1] = np.abs(x.reshape(-1, g.tensors[t].shape[-1])[1])
        inputs.append(x)
    _check(path, inputs, tmp_path)


def _hybrid_bmm(a_shape, b_shape, adj_x, adj_y, asym, w, scale=0.01):
    m = HandModel()
    a = m.input(a_shape, np.float32)
    b = m.const(w, quant=(scale, 0))
    am = a_shape[-1] if adj_x else a_shape[-2]
    bn = b_shape[-2] if adj_y else b_shape[-1]
    batch = np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
    y = m.output(m._tensor(tuple(batch) + (am, bn), np.float32))
    m.op("BATCH_MATMUL", [a, b], [y], "BatchMatMulOptions", AdjX=adj_x, AdjY=adj_y,
         AsymmetricQuantizeInputs=asym)
    return m


HYBRID_CASES = {
    "asym_batched": ((3, 7, 33), (3, 33, 20), False, False, True),
    "sym_adj_both_broadcast": ((1, 33, 7), (2, 20, 33), True, True, False),
    "sym_rank2": ((4, 100), (100, 24), False, False, False),
}


@pytest.mark.parametrize("case", sorted(HYBRID_CASES))
def test_hybrid_batch_matmul_matches_tflite(case, tmp_path):
    a_shape, b_shape, adj_x, adj_y, asym = HYBRID_CASES[case]
    rng = np.random.default_rng(zlib.crc32(case.encode()))
    w = rng.integers(-127, 128, b_shape).astype(np.int8)
    x = (rng.standard_normal(a_shape) * 3).astype(np.float32)
    _check(_write(_hybrid_bmm(a_shape, b_shape, adj_x, adj_y, asym, w), tmp_path), [x], tmp_path)


def test_hybrid_batch_matmul_long_columns(tmp_path):
    """Columns of 4168 large weights of one sign: TFLite's row sums wrap in int16 lanes
    (and take a block of 8 after the blocks of 16), and the zero point's share, past 2^24,
    rounds in float32. An exact-integer kernel would differ on every output."""
    k, n = 16 * 260 + 8, 6
    w = np.full((k, n), 63, np.int8)
    w[-8:, :3] = 127
    w[:, 5] = np.random.default_rng(1).integers(40, 128, k)
    sums = Q.hybrid_sse_row_sums(np.ascontiguousarray(w.T))
    assert (sums != w.astype(np.int64).sum(axis=0)).sum() >= 3
    x = np.random.default_rng(2).uniform(0.1, 2.0, (3, k)).astype(np.float32)
    x[1] = -x[1]                                # zero points -128, 127, -128
    _check(_write(_hybrid_bmm((3, k), (k, n), False, False, True, w), tmp_path), [x], tmp_path)


def test_hybrid_batch_matmul_per_channel_rhs_refused(tmp_path):
    m = _hybrid_bmm((2, 8), (8, 4), False, False, True, np.ones((8, 4), np.int8))
    m.tensors[1]["quant"] = (np.full(4, 0.01, np.float32), np.zeros(4, np.int64), 1)
    _refused(_write(m, tmp_path), "reads one")


# ---- int8 BATCH_MATMUL: the vector kernels (qbatchmatmul.h) on every path ---------------------
# (lhs shape, rhs shape, adj_x, adj_y, (lhs, rhs, output) quantizations): m around the row
# tiles (8, 4), n around the 16-column blocks and their pairs, odd k (a zero pair member),
# k = 1, broadcast batches, a multiplier above 1 (a left shift), and scales that put many
# sums on ties (in_scale * rhs_scale / out_scale = 2^-7: half away, never half up)
_Q = ((0.03, 5), (0.04, -2), (0.2, 3))
INT8_BMM_CASES = {
    "transformer": ((1, 4, 64, 32), (1, 4, 32, 64), False, False, _Q),
    "odd_m17_k33_n31": ((3, 17, 33), (3, 33, 31), False, False, _Q),
    "adj_x_n40": ((2, 9, 13), (2, 9, 40), True, False, _Q),
    "adj_y_broadcast": ((2, 1, 5, 7), (1, 3, 48, 7), False, True, _Q),
    "adj_both_m1": ((3, 1), (16, 3), True, True, _Q),
    "k1": ((4, 1), (1, 5), False, False, _Q),
    "n1": ((6, 10), (10, 1), False, False, _Q),
    "left_shift": ((2, 11, 6), (2, 6, 33), False, False, ((0.5, 1), (0.5, -3), (0.01, 0))),
    "ties": ((2, 12, 8), (2, 8, 35), False, False, ((0.5, 5), (0.25, -2), (16.0, 3))),
}


def _int8_bmm_model(path, seed=11):
    """Every INT8_BMM_CASES node side by side in one model; returns its inputs."""
    rng = np.random.default_rng(seed)
    m = HandModel()
    inputs = []
    for a_shape, b_shape, adj_x, adj_y, (qa, qb, qy) in INT8_BMM_CASES.values():
        a, b = m.input(a_shape, np.int8, quant=qa), m.input(b_shape, np.int8, quant=qb)
        rows = a_shape[-1] if adj_x else a_shape[-2]
        cols = b_shape[-2] if adj_y else b_shape[-1]
        batch = tuple(np.broadcast_shapes(a_shape[:-2], b_shape[:-2]))
        y = m.output(m._tensor(batch + (rows, cols), np.int8, quant=qy))
        m.op("BATCH_MATMUL", [a, b], [y], "BatchMatMulOptions", AdjX=adj_x, AdjY=adj_y)
        inputs += [_ints(rng, np.int8, a_shape, qa[1]), _ints(rng, np.int8, b_shape, qb[1])]
    path.write_bytes(m.build())
    return inputs


def test_int8_bmm_ties_are_tested(tmp_path):
    """The "ties" case puts negative sums on ties, where half away and half up differ."""
    inputs = _int8_bmm_model(tmp_path / "m.tflite")
    k = list(INT8_BMM_CASES).index("ties")
    a, b = (x.astype(np.int64) for x in inputs[2 * k:2 * k + 2])
    qa, qb, qy = INT8_BMM_CASES["ties"][4]
    acc = (a - qa[1]) @ (b - qb[1])
    mult, shift = Q.quantize_multiplier(qa[0] * qb[0] / qy[0])
    up = Q.multiply_by_quantized_multiplier(acc, mult, shift, "up")
    assert (up != Q.multiply_by_quantized_multiplier(acc, mult, shift, "away")).sum() >= 5


def _check_int8_bmm(tmp_path, flags, cxx=None, emulator=()):
    path = tmp_path / "bmm.tflite"
    inputs = _int8_bmm_model(path)
    refs, _ = V.reference_run(str(path), inputs)
    ours, _, _ = run_ours(path, inputs, tmp_path, flags=flags, cxx=cxx, emulator=emulator)
    problems = byte_mismatches(list(INT8_BMM_CASES), ours, refs)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", sorted(X86_PATHS))
def test_int8_batch_matmul_paths_x86(path, tmp_path):
    """Each x86 path forced: avx512vnni (vpdpbusd), avx2 (vpmaddwd; also AVX-512 without
    VNNI, avx512bw), sse2 and scalar (the scalar loop)."""
    _check_int8_bmm(tmp_path, x86_flags(path))


def test_int8_batch_matmul_aarch64(tmp_path):
    cxx, emulator = aarch64_toolchain()
    _check_int8_bmm(tmp_path, ("-O2",), cxx=cxx, emulator=emulator)


# ---- QUANTIZE (float32 -> int) and DEQUANTIZE (int -> float32): the AVX2 blocks --------------
# dequantize.h's vector loop (blocks of 8, AVX2 on x86) against its scalar one, forced per
# path: every dtype, exact ties, values past int32 (cvtps2dq's INT32_MIN), NaN and inf, and
# 83 elements (10 blocks and a tail of 3).
AFFINE_TYPES = ((np.int8, (0.5, -3)), (np.uint8, (0.25, 130)), (np.int16, (0.125, 0)))


def _affine_model(path):
    m = HandModel()
    inputs = []
    k = np.arange(-40, 43)
    for dt, (scale, zp) in AFFINE_TYPES:
        x = m.input((k.size,), np.float32)
        m.op("QUANTIZE", [x], [m.output(m._tensor((k.size,), dt, quant=(scale, zp)))])
        v = ((k + 0.5) * scale).astype(np.float32)
        v[[3, 9, 20, 81]] = [np.nan, np.inf, -3e9, 5e9]
        inputs.append(v)
        q = m.input((k.size,), dt, quant=(scale * 1.37, zp))
        m.op("DEQUANTIZE", [q], [m.output(m._tensor((k.size,), np.float32))])
        info = np.iinfo(dt)
        inputs.append(np.random.default_rng(zp & 0xff).integers(info.min, int(info.max) + 1, k.size).astype(dt))
    path.write_bytes(m.build())
    return inputs


@pytest.mark.parametrize("isa", ["scalar", "avx2"])
def test_quantize_dequantize_paths_x86(isa, tmp_path):
    path = tmp_path / "affine.tflite"
    inputs = _affine_model(path)
    ours, _, _ = run_ours(path, inputs, tmp_path, flags=("-O2", f"-DDLCODER_RT_FORCE_ISA={x86_isa(isa)}"))
    refs, _ = V.reference_run(str(path), inputs)
    assert len(ours) == len(refs) == 2 * len(AFFINE_TYPES)
    for k, (o, r) in enumerate(zip(ours, refs)):
        assert o.dtype == r.dtype and o.tobytes() == r.tobytes(), f"output {k}: ours {o} tflite {r}"
