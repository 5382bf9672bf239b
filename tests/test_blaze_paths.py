"""The paths BlazeFace / BlazePose-like models take (their blocks have 24-48 channels, 5x5
depthwise convs and a channel-padded shortcut), against TFLite's builtin kernels:

- depthwise rows on few channels, not a multiple of 16, run flat (simd_depthwise.h:
  dwconv_flat; 8, 24, 40 channels: periods of 2 pixels, 12: of 4), alone and inside a
  depthwise -> 1x1 chain with a residual ADD; 16 channels (whole blocks) and stride 2 (not
  flat) beside them. Widths 41 and 70 reach every loop of the flat interior (4 periods a
  step, single periods, the pixels after the last period);
  A few NaN and inf among the inputs (TFLite's NaN and inf where ours are);
- ADD(PAD(x) with zero channels, a) folded into one op (passes/fold_channel_pad.py): the pad
  after or around x's channels, on either ADD operand, with and without a fused activation,
  one PAD read by two ADDs; with -0.0 and inf among the inputs, and compared byte for byte
  (the ADD is exact, and a + 0.0 turns -0 into +0 as TFLite's ADD does; on NEON as values,
  since its clamp may turn -0 into +0).

One model holds every case, each on its own input, so each ISA compiles one library: the
native one, forced AVX2 and SSE2 (8 and 4 floats a vector: only 12 channels run flat on
AVX2, none on SSE2, the rest take the channel blocks beside the same flat code), and NEON
under qemu."""
from __future__ import annotations

import numpy as np
import pytest

from dlcoder import compiler, verify as V
from models.op_hand import HandModel
from support import aarch64_toolchain
from test_isa import x86_isa

SAME, VALID = 0, 1
ACT = {"NONE": 0, "RELU": 1, "RELU6": 3}
# depthwise: (h, w, channels, k, stride, act, 1x1 projection with a residual ADD)
DEPTHWISE = {
    "c8_k5": (7, 41, 8, 5, 1, "NONE", False),
    "c16_k5": (7, 41, 16, 5, 1, "RELU6", False),
    "c24_k5": (7, 41, 24, 5, 1, "RELU6", False),
    "c40_k5": (7, 41, 40, 5, 1, "NONE", False),
    "c8_k3": (5, 41, 8, 3, 1, "RELU", False),
    "c24_k3": (5, 41, 24, 3, 1, "NONE", False),
    "c40_k3": (5, 41, 40, 3, 1, "RELU6", False),
    "c12_k3": (5, 70, 12, 3, 1, "NONE", False),
    "c24_k5_s2": (9, 41, 24, 5, 2, "NONE", False),
    "c8_k3_s2": (9, 41, 8, 3, 2, "RELU6", False),
    "c24_k5_chain": (8, 41, 24, 5, 1, "NONE", True),
    "c40_k3_chain": (6, 41, 40, 3, 1, "NONE", True),
}
# PAD + ADD: (h, w, channels of x, (pad before, after), which ADD operand the PAD is, act)
PAD_ADD = {
    "after_first_relu6": (6, 7, 24, (0, 24), 0, "RELU6"),
    "after_second_none": (6, 7, 24, (0, 24), 1, "NONE"),
    "around_relu": (3, 5, 8, (8, 16), 0, "RELU"),
    "odd_channels": (4, 3, 5, (0, 7), 1, "NONE"),
}


def _out(size, k, stride):
    return -(-size // stride)


def _depthwise(m, rng, h, w, c, k, s, act, chain):
    x = m.input((1, h, w, c))
    oh, ow = _out(h, k, s), _out(w, k, s)
    y = m.tensor((1, oh, ow, c))
    m.op("DEPTHWISE_CONV_2D", [x, m.const(rng.standard_normal((1, k, k, c)).astype(np.float32) / k),
                               m.const(rng.standard_normal(c).astype(np.float32) * 0.1)], [y],
         "DepthwiseConv2DOptions", Padding=SAME, StrideW=s, StrideH=s, DepthMultiplier=1,
         DilationWFactor=1, DilationHFactor=1, FusedActivationFunction=ACT[act])
    if chain:   # BlazeBlock: depthwise -> 1x1 -> ADD(x) RELU
        z, out = m.tensor((1, oh, ow, c)), m.tensor((1, oh, ow, c))
        wp = (rng.standard_normal((c, 1, 1, c)) / np.sqrt(c)).astype(np.float32)
        m.op("CONV_2D", [y, m.const(wp), m.const(rng.standard_normal(c).astype(np.float32) * 0.1)], [z],
             "Conv2DOptions", Padding=SAME, StrideW=1, StrideH=1, DilationWFactor=1, DilationHFactor=1,
             FusedActivationFunction=0)
        m.op("ADD", [z, x], [out], "AddOptions", FusedActivationFunction=ACT["RELU"])
        y = out
    m.output(y)
    return [(1, h, w, c)]


def _pad_add(m, h, w, c, pads, side, act, readers=1):
    x = m.input((1, h, w, c))
    wide = (1, h, w, c + sum(pads))
    padded = m.tensor(wide)
    m.op("PAD", [x, m.const(np.array([[0, 0], [0, 0], [0, 0], list(pads)], np.int32))], [padded])
    shapes = [(1, h, w, c)]
    for _ in range(readers):
        a, y = m.input(wide), m.output(m.tensor(wide))
        m.op("ADD", [padded, a] if side == 0 else [a, padded], [y], "AddOptions", FusedActivationFunction=ACT[act])
        shapes.append(wide)
    return shapes


def _inputs(rng, shapes, pads):
    xs = []
    for s in shapes:
        x = rng.standard_normal(s).astype(np.float32) * 4
        flat = x.reshape(-1)
        if pads:   # -0.0 where the pad adds 0 to it, and infinities
            flat[::7] = -0.0
            flat[3::29] = np.inf
            flat[5::31] = -np.inf
        else:      # a few NaN and infinities, which every output of their windows sees
            flat[101::1999] = np.nan
            flat[555::2999] = np.inf
        xs.append(x)
    return xs


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    m, rng = HandModel(), np.random.default_rng(24)
    dw_shapes = [s for case in DEPTHWISE.values() for s in _depthwise(m, rng, *case)]
    pad_shapes = [s for case in PAD_ADD.values() for s in _pad_add(m, *case)]
    pad_shapes += _pad_add(m, 4, 4, 16, (0, 16), 1, "RELU6", readers=2)
    path = tmp_path_factory.mktemp("blaze") / "blaze.tflite"
    path.write_bytes(m.build())
    return path, _inputs(rng, dw_shapes, False) + _inputs(rng, pad_shapes, True)


def test_the_pads_fold_and_the_chains_fuse(model):
    path, _ = model
    _, g = compiler.compile_graph(compiler.load_graph(str(path)), "m")
    ops = [n.op for n in g.nodes]
    assert ops.count("DLCODER_ADD_CHANNEL_PAD") == len(PAD_ADD) + 2
    assert "PAD" not in ops and "ADD" not in ops
    assert ops.count("DLCODER_CONV_DW") == 2


def test_a_pad_that_is_not_channel_zeros_stays(tmp_path):
    m = HandModel()
    for pads, value in (([[0, 0], [0, 1], [0, 0], [0, 4]], None), ([[0, 0], [0, 0], [0, 0], [0, 4]], 1.0),
                        ([[0, 0], [0, 0], [0, 0], [0, 4]], -0.0)):
        x, a = m.input((1, 3, 3, 4)), m.input((1, 3 + pads[1][1], 3, 8))
        padded, y = m.tensor((1, 3 + pads[1][1], 3, 8)), m.output(m.tensor((1, 3 + pads[1][1], 3, 8)))
        ins = [x, m.const(np.array(pads, np.int32))] + ([] if value is None else [m.const(np.float32([value]))])
        m.op("PADV2" if value is not None else "PAD", ins, [padded])
        m.op("ADD", [padded, a], [y], "AddOptions", FusedActivationFunction=0)
    x, a = m.input((1, 3, 3, 4)), m.input((1, 3, 3, 8))   # read by a MUL as well
    padded, y, z = m.tensor((1, 3, 3, 8)), m.output(m.tensor((1, 3, 3, 8))), m.output(m.tensor((1, 3, 3, 8)))
    m.op("PAD", [x, m.const(np.array([[0, 0], [0, 0], [0, 0], [0, 4]], np.int32))], [padded])
    m.op("ADD", [padded, a], [y], "AddOptions", FusedActivationFunction=0)
    m.op("MUL", [padded, a], [z], "MulOptions", FusedActivationFunction=0)
    path = tmp_path / "kept.tflite"
    path.write_bytes(m.build())
    _, g = compiler.compile_graph(compiler.load_graph(str(path)), "m")
    ops = [n.op for n in g.nodes]
    assert "DLCODER_ADD_CHANNEL_PAD" not in ops and ops.count("ADD") == 4


@pytest.mark.parametrize("isa", ["native", "avx2", "sse2", "aarch64"])
def test_blaze_paths_match_tflite(model, isa, tmp_path):
    path, inputs = model
    flags = ("-O2",) if isa in ("native", "aarch64") else ("-O2", f"-DDLCODER_RT_FORCE_ISA={x86_isa(isa)}")
    cxx, emulator = aarch64_toolchain() if isa == "aarch64" else (None, ())
    lib, g = compiler.compile_graph(compiler.load_graph(str(path)), "m")
    compiler.write_library(lib, str(tmp_path / "lib"))
    exe = V.build_runner(str(tmp_path / "lib"), "m", str(tmp_path), cxx=cxx, flags=flags)
    ours = V.run_runner(exe, g, inputs, str(tmp_path), emulator=emulator)[0]
    refs, _ = V.reference_run(str(path), inputs)
    names = list(DEPTHWISE) + [f"pad_{n}" for n in PAD_ADD] + ["pad_two_readers_0", "pad_two_readers_1"]
    assert len(ours) == len(refs) == len(names)
    for name, o, r in zip(names, ours, refs):
        if name.startswith("pad_") and isa == "aarch64":
            # NEON's fmax puts -0 below +0, x86's maxps and TFLite's std::max keep the first of
            # two equal operands: a clamped -0 may come back +0; equal as values
            np.testing.assert_array_equal(o, r, err_msg=name)
        elif name.startswith("pad_"):
            assert o.tobytes() == r.tobytes(), f"{name}: {np.flatnonzero(o.view(np.int32) != r.view(np.int32))[:8]}"
        else:
            c = V.compare(o, r)
            assert c.ok, f"{name}: max abs err {c.max_abs}, relative {c.relative}"
