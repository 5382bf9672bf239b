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
under qemu, and two threads with every op split (DLCODER_RT_MIN_TASK_MACS=1).

Depth blocks (gemm_deep: B panels too long for L2, the depth in blocks whose sums C holds in
between, A's rows copied to a buffer): the generator compiles it only into the GEMM calls
that may take it (ops/_gemm.py: deep_fits, params.h: gemm_deep_fits, checked against each
other here; a library without such a call holds no gemm_deep). A 25x2053x40 FC takes it
with the default sizes (9 depth blocks, the last shorter); with the blocks shrunk
(DLCODER_RT_GEMM_CHUNK_BYTES, DLCODER_RT_GEMM_DEEP_KC, and the generator's copy of the
chunk) every GEMM of more than 12 rows past k 16 of the model does, in many chunks of panels
and depth blocks with tails (k 17, 20, 32, 33, 40, 300, 1601), BATCH_MATMUL's B read in place
(rows ldb apart) and the fused epilogues on the last block; those outputs must be the
default build's bit for bit (each tile adds its k steps in the same order), on AVX-512
(two-panel tiles, chunks of whole tiles), AVX2, SSE2 and scalar, and on two threads."""
import subprocess
import sys

import numpy as np
import pytest

from dlcoder import compiler, verify as V
from dlcoder.codegen.runtime_facts import RUNTIME_DIR
from dlcoder.ops import _gemm as G
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
    "fc_m25_k2053_n40_depth_blocks": (25, 2053, 40, "relu"),
}
# name: (batch, m, k, n, adj_y)
BMM = {
    "bmm_b2_m13_k17_n35": (2, 13, 17, 35, False),
    "bmm_b1_m9_k20_n32_in_place": (1, 9, 20, 32, False),
    "bmm_b3_m5_k24_n30_adj_y": (3, 5, 24, 30, True),
    "bmm_b2_m25_k32_n64_adj_y": (2, 25, 32, 64, True),
    "bmm_b2_m17_k40_n32_in_place": (2, 17, 40, 32, False),
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
    """Our outputs, checked against TFLite's."""
    model = tmp_path / "fgemm.tflite"
    inputs, labels = _build(model)
    ours, _, _ = run_ours(model, inputs, tmp_path, threads=threads, **run_kw)
    refs, _ = V.reference_run(str(model), inputs)
    assert len(ours) == len(refs) == len(labels)
    bad = []
    for k, (label, o, r) in enumerate(zip(labels, ours, refs)):
        c = V.compare(o, r, k)
        if not c.ok:
            bad.append(f"{label}: relative error {c.relative} {c.detail or ''}")
    assert not bad, "\n".join(bad)
    return ours


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


# every GEMM of more than 12 rows past k 16 of the model through gemm_deep, in chunks of a
# panel or two: the kernels' sizes, and the generator's chunk alike (small_blocks)
SMALL_CHUNK = 2048
SMALL_BLOCKS = (f"-DDLCODER_RT_GEMM_CHUNK_BYTES={SMALL_CHUNK}", "-DDLCODER_RT_GEMM_DEEP_KC=16")


@pytest.fixture
def small_blocks(monkeypatch):
    """The generator marks the GEMMs that the shrunk kernels may take deep (SMALL_BLOCKS)."""
    monkeypatch.setattr(G, "GEMM_CHUNK_BYTES", SMALL_CHUNK)


def _deep_calls(chunk) -> dict:
    """The GEMM calls of the model that may take gemm_deep with B chunks of `chunk` bytes,
    by kernel entry (the test's own count: more rows than the widest tile, two float
    panels over the depth past the chunk)."""
    deep = lambda rows, k: rows > 12 and 2 * k * 16 * 4 > chunk  # noqa: E731
    pixels = lambda shape: shape[0] * shape[1] * shape[2]  # noqa: E731
    convs = [(pixels(x), x[3]) for x, _, _ in CONV_1X1.values()] + [(25, 24), (15, 20)]  # + epilogues
    return {"conv2d_1x1_f32": sum(deep(*c) for c in convs),
            "fully_connected_f32_gemm": sum(deep(rows, k) for rows, k, _, _ in FC.values()),
            "batch_matmul_f32_gemm": sum(deep(rows, k) for _, rows, k, _, _ in BMM.values())}


@pytest.mark.parametrize("chunk", [None, SMALL_CHUNK])
def test_generator_marks_the_deep_gemms(chunk, tmp_path, monkeypatch):
    """Exactly the GEMM calls that may take gemm_deep name GemmDepth::kDeep: with the
    default chunk the 25x2053 FC alone, with the small one many of each kernel entry."""
    if chunk is not None:
        monkeypatch.setattr(G, "GEMM_CHUNK_BYTES", chunk)
    model = tmp_path / "fgemm.tflite"
    _build(model)
    lib, _ = compiler.compile_graph(compiler.load_graph(str(model)), "m")
    src = lib.files["m.cc"].decode()
    marked = {fn: src.count(f"dlcoder_rt::{fn}<dlcoder_rt::GemmDepth::kDeep>(") for fn in _deep_calls(0)}
    assert marked == _deep_calls(chunk or G.GEMM_CHUNK_BYTES)
    if chunk is None:
        assert sum(marked.values()) == 1
    else:
        assert min(marked.values()) >= 2


def test_generator_and_runtime_agree_on_deep_gemms(tmp_path):
    """ops/_gemm.py: deep_fits against params.h: gemm_deep_fits (the widest tile, the
    default chunk), on shapes around the thresholds, float and float16 panels."""
    src = tmp_path / "deep.cc"
    src.write_text('#include <cstdio>\n#include "dlcoder_rt/params.h"\nint main() {\n'
                   "  long long m; int k, bytes;\n"
                   '  while (std::scanf("%lld %d %d", &m, &k, &bytes) == 3)\n'
                   '    std::printf("%d\\n", int(dlcoder_rt::gemm_deep_fits(m, k, bytes)));\n}\n')
    exe = tmp_path / "deep"
    subprocess.run(["c++", "-std=c++17", "-O1", "-I", str(RUNTIME_DIR.parent), str(src), "-o", str(exe)], check=True)
    edge = G.GEMM_CHUNK_BYTES // (2 * G.PANEL)  # k at the threshold, in bytes of B
    cases = [(m, k, half) for m in (1, G.KMAX_MR - 1, G.KMAX_MR, G.KMAX_MR + 1, 128, 10 ** 6)
             for half in (False, True)
             for k in (1, 16, edge // 4 - 1, edge // 4, edge // 4 + 1, edge // 2 - 1, edge // 2, edge // 2 + 1,
                       3072, 10 ** 6)]
    out = subprocess.run([str(exe)], input="\n".join(f"{m} {k} {2 if half else 4}" for m, k, half in cases),
                         capture_output=True, text=True, check=True).stdout.split()
    runtime = [bool(int(v)) for v in out]
    generator = [G.deep_fits(m, k, half) for m, k, half in cases]
    assert len(runtime) == len(cases)
    wrong = [(c, r, p) for c, r, p in zip(cases, runtime, generator) if r != p]
    assert not wrong, wrong[:5]
    assert True in runtime and False in runtime


def _gemm_deep_symbols(exe) -> list:
    out = subprocess.run(["nm", "-C", str(exe)], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if "::gemm_deep<" in line]


@pytest.mark.parametrize("k", [2048, 2049])
def test_only_deep_gemms_compile_gemm_deep(k, tmp_path):
    """A library whose GEMMs are all shallow holds no gemm_deep (its ~98 KB of code); one
    FC past the threshold (k 2049 at 13 rows, float panels) brings it in."""
    m = HandModel()
    x = m.input((13, k))
    y = m.output(m.tensor((13, 16)))
    w = np.random.default_rng(3).standard_normal((16, k)).astype(np.float32)
    m.op("FULLY_CONNECTED", [x, m.const(w), m.const(np.zeros(16, np.float32))], [y],
         "FullyConnectedOptions", FusedActivationFunction=0, KeepNumDims=False)
    model = tmp_path / "fc.tflite"
    model.write_bytes(m.build())
    inputs = [np.random.default_rng(4).standard_normal((13, k)).astype(np.float32)]
    ours, lib, _ = run_ours(model, inputs, tmp_path)
    refs, _ = V.reference_run(str(model), inputs)
    assert V.compare(ours[0], refs[0], 0).ok
    assert (b"GemmDepth::kDeep" in lib.files["m.cc"]) == (k > 2048)
    assert bool(_gemm_deep_symbols(tmp_path / "runner")) == (k > 2048)


@pytest.mark.parametrize("isa", sorted(X86_ISAS))
def test_depth_blocks_same_bits(isa, tmp_path, small_blocks):
    force = f"-DDLCODER_RT_FORCE_ISA={x86_isa(isa)}"
    (tmp_path / "small").mkdir()
    (tmp_path / "default").mkdir()
    small = _check(tmp_path / "small", flags=("-O2", force, *SMALL_BLOCKS))
    default = _check(tmp_path / "default", flags=("-O2", force))
    _, labels = _build(tmp_path / "labels.tflite")
    differ = [label for label, a, b in zip(labels, small, default) if a.tobytes() != b.tobytes()]
    assert not differ, f"depth blocks changed the bits of {differ}"


def test_depth_blocks_on_two_threads(tmp_path, small_blocks):
    _check(tmp_path, threads=2, flags=("-O2", "-DDLCODER_RT_MIN_TASK_MACS=1", *SMALL_BLOCKS))


@pytest.mark.parametrize("isa", ["neon"])
def test_depth_blocks_aarch64(isa, tmp_path, small_blocks):
    cxx, emulator = aarch64_toolchain()
    _check(tmp_path, cxx=cxx, emulator=emulator, flags=("-O2", *SMALL_BLOCKS))


def test_float16_depth_blocks_bit_identical_to_float32(tmp_path, monkeypatch):
    """Float16 weights (uint16_t panels: half the bytes, so deep from twice the depth)
    through gemm_deep with the blocks shrunk give the bits of float32 weights through the
    default blocks (k 40: deep as float16 only with the small chunk; k 2053: also by
    default)."""
    from test_f16_weights import build_and_run
    rng = np.random.default_rng(23)
    m = HandModel()
    for rows, k, units in ((25, 40, 33), (14, 2053, 40)):
        x, y, wf = m.input((rows, k)), m.output(m.tensor((rows, units))), m.tensor((units, k))
        w = (rng.standard_normal((units, k)) / np.sqrt(k)).astype(np.float16)
        m.op("DEQUANTIZE", [m.const(w)], [wf])
        m.op("FULLY_CONNECTED", [x, wf, m.const(rng.standard_normal(units).astype(np.float32))], [y],
             "FullyConnectedOptions", FusedActivationFunction=1, KeepNumDims=False)
    model = tmp_path / "fc16.tflite"
    model.write_bytes(m.build())
    (tmp_path / "f16").mkdir()
    (tmp_path / "f32").mkdir()
    full, _, _ = build_and_run(model, tmp_path / "f32", True)
    monkeypatch.setattr(G, "GEMM_CHUNK_BYTES", SMALL_CHUNK)
    half, lib16, _ = build_and_run(model, tmp_path / "f16", False, flags=("-O2", *SMALL_BLOCKS))
    src = lib16.files["m.cc"].decode()
    assert src.count("fully_connected_f32_gemm<dlcoder_rt::GemmDepth::kDeep>(") == 2 and "uint16_t" in src
    for k, (a, b) in enumerate(zip(half, full)):
        assert a.tobytes() == b.tobytes(), f"output {k}: float16 weights through depth blocks differ"
