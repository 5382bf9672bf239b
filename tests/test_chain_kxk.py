"""A depthwise chain that starts from a KxK CONV_2D (passes/fuse_pw_dw.py, ops/fused.py:
implicit_head): the conv's rows are computed into the chain's ring by the conv's own
implicit GEMM kernel (simd_depthwise.h: conv_rows_at), so the big map between the conv and
the depthwise conv never reaches the arena (MobileNetV2's stem).

One model holds every case, each on its own input: 3x3 stride-2 stems (SAME with the padded
band of short rows and without it, VALID on batch 2, whose conv input has more rows than
the depthwise input), 5x5 stride-1 convs (SAME, VALID), with and without a projection, a
PAD folded into the conv, float16 weights. Its library must fuse every case, agree with
TFLite, give the same bytes on 3 threads (which split rows mid-ring), and give the same
bytes as the library where the conv runs alone."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from dlcoder import compiler, verify as V
from models.op_hand import HandModel

SAME, VALID = 0, 1
ACT = {"NONE": 0, "RELU": 1, "RELU6": 3}
# name: input shape, conv (out_c, k, stride, padding, act), depthwise (k, stride, padding,
# act), projection out_c or None, float16 weights, PAD before the conv
CASES = {
    "stem3_s2_same_band": ((1, 23, 25, 3), (32, 3, 2, SAME, "RELU6"), (3, 1, SAME, "RELU6"), 16, False, False),
    "stem3_s2_same_f16": ((1, 70, 68, 3), (32, 3, 2, SAME, "RELU6"), (3, 1, SAME, "RELU6"), 16, True, False),
    "stem3_s2_valid_b2": ((2, 21, 20, 3), (32, 3, 2, VALID, "RELU6"), (3, 2, SAME, "RELU6"), 24, False, False),
    "conv5_s1_valid_b2": ((2, 17, 19, 4), (24, 5, 1, VALID, "RELU"), (3, 2, VALID, "NONE"), None, False, False),
    "conv5_s1_same": ((1, 15, 36, 8), (16, 5, 1, SAME, "RELU6"), (5, 1, SAME, "RELU6"), 8, False, False),
    "pad_conv3_s2": ((1, 19, 18, 5), (20, 3, 2, VALID, "NONE"), (3, 1, SAME, "RELU"), 12, False, True),
}


def _out(size, k, stride, padding):
    return -(-size // stride) if padding == SAME else -(-(size - k + 1) // stride)


def _filter(m, arr, f16):
    """A constant filter, or a float16 one and its DEQUANTIZE (the f16 models' form)."""
    if not f16:
        return m.const(arr)
    t = m.tensor(arr.shape)
    m.op("DEQUANTIZE", [m.const(arr.astype(np.float16))], [t])
    return t


def _branch(m, rng, shape, conv, dw, pj, f16, pad):
    n, h, w, c = shape
    x = m.input(shape)
    if pad:
        padded = m.tensor((n, h + 2, w + 2, c))
        m.op("PAD", [x, m.const(np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32))], [padded])
        x, h, w = padded, h + 2, w + 2
    oc, k, s, padding, act = conv
    ch, cw = _out(h, k, s, padding), _out(w, k, s, padding)
    mid = m.tensor((n, ch, cw, oc))
    wk = (rng.standard_normal((oc, k, k, c)) / np.sqrt(k * k * c)).astype(np.float32)
    m.op("CONV_2D", [x, _filter(m, wk, f16), m.const(rng.standard_normal(oc).astype(np.float32) * 0.1)], [mid],
         "Conv2DOptions", Padding=padding, StrideW=s, StrideH=s, DilationWFactor=1, DilationHFactor=1,
         FusedActivationFunction=ACT[act])
    k2, s2, padding2, act2 = dw
    dh, dwid = _out(ch, k2, s2, padding2), _out(cw, k2, s2, padding2)
    y = m.tensor((n, dh, dwid, oc))
    m.op("DEPTHWISE_CONV_2D", [mid, m.const(rng.standard_normal((1, k2, k2, oc)).astype(np.float32) / k2),
                               m.const(rng.standard_normal(oc).astype(np.float32) * 0.1)], [y],
         "DepthwiseConv2DOptions", Padding=padding2, StrideW=s2, StrideH=s2, DepthMultiplier=1,
         DilationWFactor=1, DilationHFactor=1, FusedActivationFunction=ACT[act2])
    if pj is not None:
        z = m.tensor((n, dh, dwid, pj))
        wp = (rng.standard_normal((pj, 1, 1, oc)) / np.sqrt(oc)).astype(np.float32)
        m.op("CONV_2D", [y, _filter(m, wp, f16), m.const(rng.standard_normal(pj).astype(np.float32) * 0.1)], [z],
             "Conv2DOptions", Padding=SAME, StrideW=1, StrideH=1, DilationWFactor=1, DilationHFactor=1,
             FusedActivationFunction=0)
        y = z
    m.output(y)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    m, rng = HandModel(), np.random.default_rng(11)
    for case in CASES.values():
        _branch(m, rng, *case)
    path = tmp_path_factory.mktemp("chain") / "chains.tflite"
    path.write_bytes(m.build())
    inputs = [rng.standard_normal(case[0]).astype(np.float32) for case in CASES.values()]
    return path, inputs


def _build(path, work, fuse_kxk: bool, monkeypatch):
    """The library (with the KxK heads fused or not), its source, graph and executable."""
    with monkeypatch.context() as mp:
        if not fuse_kxk:
            mp.setattr(sys.modules["dlcoder.passes.fuse_pw_dw"], "_head", lambda node, g: False)
        g0 = compiler.load_graph(str(path))
        lib, g = compiler.compile_graph(g0, "m")
    compiler.write_library(lib, str(work / "lib"))
    exe = V.build_runner(str(work / "lib"), "m", str(work))
    return lib.files["m.cc"].decode(), g, exe


def test_kxk_chains_match_tflite_and_the_unfused_conv(model, tmp_path, monkeypatch):
    path, inputs = model
    (tmp_path / "fused").mkdir()
    (tmp_path / "alone").mkdir()
    source, g, exe = _build(path, tmp_path / "fused", True, monkeypatch)
    # every case is one chain that starts from its CONV_2D, and the library says so
    assert [n.op for n in g.nodes] == ["DLCODER_CONV_DW"] * len(CASES)
    assert all(n.attrs["fused_ops"][:2] == ("CONV_2D", "DEPTHWISE_CONV_2D") for n in g.nodes)
    assert source.count("conv_chain_kxk_f32<") == len(CASES)
    assert "conv_chain_kxk_f32<6, uint16_t" in source   # the f16 stem: float16 panels, stride 2 x 3 channels
    one = V.run_runner(exe, g, inputs, str(tmp_path / "fused"))[0]
    three = V.run_runner(exe, g, inputs, str(tmp_path / "fused"), threads=3)[0]
    refs, _ = V.reference_run(str(path), inputs)
    names = list(CASES)
    for k, (o, r) in enumerate(zip(one, refs)):
        c = V.compare(o, r, k)
        assert c.ok, f"{names[k]}: max abs err {c.max_abs}, relative {c.relative}"
        assert o.tobytes() == three[k].tobytes(), f"{names[k]}: 3 threads differ from 1"
    # the conv alone (its own kernel, its map in the arena): the same bits
    source_alone, g_alone, exe_alone = _build(path, tmp_path / "alone", False, monkeypatch)
    assert "conv_chain_kxk_f32" not in source_alone and "conv2d_implicit_f32" in source_alone
    alone = V.run_runner(exe_alone, g_alone, inputs, str(tmp_path / "alone"))[0]
    for k, (a, b) in enumerate(zip(one, alone)):
        assert a.tobytes() == b.tobytes(), f"{names[k]}: fused and unfused differ"


@pytest.mark.parametrize("conv, in_c", [
    ((8, 3, 2, SAME, "RELU6"), 3),     # 8 outputs: the narrow kernel, which sums in another order
    ((32, 3, 1, SAME, "RELU6"), 32),   # 3x3 stride 1 from 32 channels on a large map: Winograd
])
def test_convs_on_other_kernels_stay_alone(conv, in_c, tmp_path):
    m = HandModel()
    _branch(m, np.random.default_rng(3), (1, 40, 40, in_c), conv, (3, 1, SAME, "RELU6"), 16, False, False)
    path = tmp_path / "m.tflite"
    path.write_bytes(m.build())
    _, g = compiler.compile_graph(compiler.load_graph(str(path)), "m")
    assert [n.op for n in g.nodes] == ["CONV_2D", "DLCODER_CONV_DW"]
