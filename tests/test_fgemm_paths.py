"""The float GEMM (simd_kernels.h: gemm, gemm_block, gemm_rows, gemm_tile) against TFLite on
every instruction-set path: 1x1 CONV_2D, FULLY_CONNECTED and BATCH_MATMUL side by side in one
hand-built model, with tails everywhere a tile can end.

Rows (M): 1 to 14, 25, 49, 50 and 121 (every tile height from a row block's split, blocks
of 12 and of fewer; from 96 rows on, two threads split rows rather than panels): on
AVX-512, tiles of 6 rows or more take one panel at a time, fewer rows two panels (gemm_rows),
and so do tall tiles over a k past kOnePanelMaxK (1536). Columns (N): 1, 5, 15, 16, 17, 31,
33, 40, 47, 48, 64, 80 and 100 (panel tails; an odd panel alone after two-panel tiles).
Depth (K): 1, 3, 7, 16, 17, 20, 32, 33, 64, 100, 300 and 1601 (odd and even: the k loop
takes two steps an iteration). Clamps RELU, RELU6 and none; a fused residual ADD and a fused
LEAKY_RELU (the tile's epilogues); BATCH_MATMUL's B read in place (whole panels, rows ldb
apart), packed, and transposed (adj_y). Paths: AVX-512, AVX2, SSE2 and scalar forced on x86, NEON and scalar
under qemu, and two threads with every op split (DLCODER_RT_MIN_TASK_MACS=1)."""
import sys

import numpy as np
import pytest

from dlcoder import compiler, verify as V
from support import TESTS, aarch64_toolchain, run_ours
from test_isa import X86_ISAS, x86_isa

sys.path.insert(0, str(TESTS / "models"))
from op_hand import HandModel  # noqa: E402

ACTS = {"none": 0, "relu": 1, "relu6": 3}
# name: (input NHWC, out channels, activation)
CONV_1X1 = {
    "c1x1_m1_k7_n5": ((1, 1, 1, 7), 5, "none"),
    "c1x1_m6_k16_n16": ((1, 2, 3, 16), 16, "relu"),
    "c1x1_m12_k33_n17_relu6": ((1, 3, 4, 33), 17, "relu6"),
    "c1x1_m13_k32_n40": ((1, 1, 13, 32), 40, "none"),
    "c1x1_m50_k3_n64_b2": ((2, 5, 5, 3), 64, "relu"),
    "c1x1_m49_k64_n31_relu6": ((1, 7, 7, 64), 31, "relu6"),
    "c1x1_m121_k32_n64_relu6": ((1, 11, 11, 32), 64, "relu6"),
    "c1x1_m20_k1_n33": ((1, 4, 5, 1), 33, "none"),
    "c1x1_m9_k100_n48": ((1, 3, 3, 100), 48, "relu"),
    "c1x1_m14_k300_n24": ((1, 2, 7, 300), 24, "none"),
    "c1x1_m25_k17_n100_relu6": ((1, 5, 5, 17), 100, "relu6"),
}
# name: (rows, k, units, activation)
FC = {
    "fc_m1_k50_n47": (1, 50, 47, "none"),
    "fc_m2_k16_n1": (2, 16, 1, "relu"),
    "fc_m3_k20_n15": (3, 20, 15, "none"),
    "fc_m4_k7_n80": (4, 7, 80, "relu6"),
    "fc_m5_k33_n16": (5, 33, 16, "none"),
    "fc_m7_k64_n33_relu": (7, 64, 33, "relu"),
    "fc_m8_k17_n64": (8, 17, 64, "none"),
    "fc_m10_k32_n48": (10, 32, 48, "relu6"),
    "fc_m11_k3_n31": (11, 3, 31, "none"),
    "fc_m97_k20_n40": (97, 20, 40, "relu"),
    "fc_m14_k1601_n80_deep": (14, 1601, 80, "none"),
    "fc_m3_k1601_n33_deep": (3, 1601, 33, "relu6"),
}
# name: (batch, m, k, n, adj_y)
BMM = {
    "bmm_b2_m13_k17_n35": (2, 13, 17, 35, False),
    "bmm_b1_m9_k20_n32_in_place": (1, 9, 20, 32, False),
    "bmm_b3_m5_k24_n30_adj_y": (3, 5, 24, 30, True),
    "bmm_b2_m25_k32_n64_adj_y": (2, 25, 32, 64, True),
}


def _build(path):
    """-> (inputs, output labels): every case of the tables, and the fused epilogues."""
    rng = np.random.default_rng(19)
    m, inputs, labels = HandModel(), [], []

    def conv1x1(x_shape, oc, act):
        x = m.input(x_shape)
        inputs.append(rng.standard_normal(x_shape).astype(np.float32))
        w = (rng.standard_normal((oc, 1, 1, x_shape[3])) / np.sqrt(x_shape[3])).astype(np.float32)
        y = m.tensor(x_shape[:3] + (oc,))
        m.op("CONV_2D", [x, m.const(w), m.const(rng.standard_normal(oc).astype(np.float32))], [y],
             "Conv2DOptions", Padding=1, StrideH=1, StrideW=1, DilationHFactor=1, DilationWFactor=1,
             FusedActivationFunction=ACTS[act])
        return y

    for name, (x_shape, oc, act) in CONV_1X1.items():
        m.output(conv1x1(x_shape, oc, act))
        labels.append(name)
    for name, (rows, k, units, act) in FC.items():
        x = m.input((rows, k))
        inputs.append(rng.standard_normal((rows, k)).astype(np.float32))
        w = (rng.standard_normal((units, k)) / np.sqrt(k)).astype(np.float32)
        y = m.output(m.tensor((rows, units)))
        m.op("FULLY_CONNECTED", [x, m.const(w), m.const(rng.standard_normal(units).astype(np.float32))], [y],
             "FullyConnectedOptions", FusedActivationFunction=ACTS[act], KeepNumDims=False)
        labels.append(name)
    for name, (batch, rows, k, n, adj_y) in BMM.items():
        a, b = m.input((batch, rows, k)), m.input((batch, n, k) if adj_y else (batch, k, n))
        inputs.append(rng.standard_normal((batch, rows, k)).astype(np.float32))
        inputs.append(rng.standard_normal((batch, n, k) if adj_y else (batch, k, n)).astype(np.float32))
        y = m.output(m.tensor((batch, rows, n)))
        m.op("BATCH_MATMUL", [a, b], [y], "BatchMatMulOptions", AdjX=False, AdjY=adj_y)
        labels.append(name)
    # epilogues: a residual ADD (RELU6 of its own) and a LEAKY_RELU fused into 1x1 convs
    y = conv1x1((1, 5, 5, 24), 40, "relu")
    other = m.input((1, 5, 5, 40))
    inputs.append(rng.standard_normal((1, 5, 5, 40)).astype(np.float32))
    s = m.output(m.tensor((1, 5, 5, 40)))
    m.op("ADD", [y, other], [s], "AddOptions", FusedActivationFunction=3)
    labels.append("c1x1_m25_k24_n40_residual_add")
    y = conv1x1((1, 3, 5, 20), 33, "none")
    leaky = m.output(m.tensor((1, 3, 5, 33)))
    m.op("LEAKY_RELU", [y], [leaky], "LeakyReluOptions", Alpha=0.2)
    labels.append("c1x1_m15_k20_n33_leaky_relu")
    path.write_bytes(m.build())
    return inputs, labels


def _check(tmp_path, threads=1, **run_kw):
    model = tmp_path / "fgemm.tflite"
    inputs, labels = _build(model)
    ours, _, g = run_ours(model, inputs, tmp_path, threads=threads, **run_kw)
    refs, _ = V.reference_run(str(model), inputs)
    assert len(ours) == len(refs) == len(labels)
    bad = []
    for k, (label, o, r) in enumerate(zip(labels, ours, refs)):
        c = V.compare(o, r, k)
        if not c.ok:
            bad.append(f"{label}: relative error {c.relative} {c.detail or ''}")
    assert not bad, "\n".join(bad)
    return g


def test_epilogues_are_fused(tmp_path):
    """The residual ADD and the LEAKY_RELU ride on their convs' GEMM tiles (else the epilogue
    cases above would test the standalone ops)."""
    model = tmp_path / "fgemm.tflite"
    _build(model)
    _, g = compiler.compile_graph(compiler.load_graph(str(model)), "m")
    ops = [n.op for n in g.nodes]
    assert "ADD" not in ops and "LEAKY_RELU" not in ops, ops


@pytest.mark.parametrize("isa", sorted(X86_ISAS))
def test_x86_path(isa, tmp_path):
    _check(tmp_path, flags=("-O2", f"-DDLCODER_RT_FORCE_ISA={x86_isa(isa)}"))


def test_two_threads(tmp_path):
    """Every GEMM split in two (DLCODER_RT_MIN_TASK_MACS=1): by rows from 96 rows on, else
    by panels, a task then starting at a panel past the first."""
    _check(tmp_path, threads=2, flags=("-O2", "-DDLCODER_RT_MIN_TASK_MACS=1"))


@pytest.mark.parametrize("isa", ["neon", "scalar"])
def test_aarch64_path(isa, tmp_path):
    flags = ("-O2",) if isa == "neon" else ("-O2", "-DDLCODER_RT_FORCE_ISA=0")
    cxx, emulator = aarch64_toolchain()
    _check(tmp_path, cxx=cxx, emulator=emulator, flags=flags)
