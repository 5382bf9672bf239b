"""Float TRANSPOSE_CONV (ops/transpose_conv.py, dlcoder_rt/transpose_conv.h) end to end
against the TFLite interpreter's builtin kernels, on the models of
tests/models/transpose_conv/ (make_transpose_conv_models.py): Keras Conv2DTranspose with
kernels 1 to 5, strides 1 to 3, SAME and VALID, output_padding, non-square kernels and
strides, batch 2, odd channel counts, bias or none, fused activations, a HARD_SWISH
epilogue, a U-Net decoder block; and hand-built TRANSPOSE_CONV + ADD (+ RELU6) models for
passes/fuse_tconv_bias.py.

Every case runs with 1 thread and with 2, built so that every kernel splits
(DLCODER_RT_MIN_TASK_MACS=1): both within float tolerance of TFLite, and the same bytes.
A few cases with partial panels, batch 2 and several panels run on every x86 ISA path
(forced as in test_isa.py) and on aarch64 (NEON and scalar) under qemu."""
import json
import shutil
import subprocess

import pytest

from dlcoder import compiler, verify as V
from support import TESTS, aarch64_toolchain, load_npz_inputs
from test_isa import x86_isa, X86_ISAS
from test_warnings import FLAGS as WARNING_FLAGS

TCONV = TESTS / "models" / "transpose_conv"
CASES = sorted(json.loads((TCONV / "cases.json").read_text()))
SPLIT_ALL = ("-O2", "-DDLCODER_RT_MIN_TASK_MACS=1")
# out_c 20 (a partial panel) with batch 2; in_c 3 and out_c 17; two panels (AVX-512 takes
# both in one tile); phases without taps; the padded copy of the input on every side
ISA_CASES = ["k3_s2_same_c72_c24", "k3_s2_same_batch2_c12_c20", "k5_s2_valid_c3_c17", "k4_s2_same_relu_c16_c32",
             "k2_s3_valid_c4_c4", "k3_s2_valid_outpad1_c4_c6"]


def _build(case, tmp_path, flags, cxx=None):
    model = TCONV / f"{case}.tflite"
    g0 = compiler.load_graph(str(model))
    lib, g = compiler.compile_graph(g0, "m")
    compiler.write_library(lib, str(tmp_path / "lib"))
    exe = V.build_runner(str(tmp_path / "lib"), "m", str(tmp_path), cxx=cxx, flags=flags)
    return exe, g, lib, load_npz_inputs(TCONV / f"{case}.npz", g0)


def _check(case, tmp_path, flags, threads=(1,), cxx=None, emulator=()):
    """Our outputs with each thread count within float tolerance of TFLite's, and the same
    bytes for every thread count; -> the compiled graph."""
    exe, g, _, inputs = _build(case, tmp_path, flags, cxx)
    refs, _ = V.reference_run(str(TCONV / f"{case}.tflite"), inputs)
    first = None
    for n in threads:
        ours, _ = V.run_runner(exe, g, inputs, str(tmp_path), threads=n, emulator=emulator)
        assert len(ours) == len(refs)
        for k, (o, r) in enumerate(zip(ours, refs)):
            c = V.compare(o, r, k)
            assert c.ok, f"{case} output {k}, {n} threads: max abs err {c.max_abs}, relative {c.relative}"
        if first is None:
            first = ours
        for k, (o, f) in enumerate(zip(ours, first)):
            assert o.tobytes() == f.tobytes(), f"{case} output {k} differs with {n} threads"
    return g


def test_every_case_is_listed():
    assert len(CASES) >= 24, CASES


@pytest.mark.parametrize("case", CASES)
def test_against_tflite(case, tmp_path):
    g = _check(case, tmp_path, SPLIT_ALL, threads=(1, 2))
    tconvs = [n for n in g.nodes if n.op == "TRANSPOSE_CONV"]
    assert len(tconvs) == 1
    if case.startswith("fuse_"):
        assert [n.op for n in g.nodes] == ["TRANSPOSE_CONV"], "the ADD (and RELU6) not fused"
        assert "ADD" in tconvs[0].attrs["fused_ops"]
    if "hard_swish" in case:
        assert [n.op for n in g.nodes] == ["TRANSPOSE_CONV"] and tconvs[0].attrs["epilogue"] == "HARD_SWISH"
    if case.startswith("nofuse_"):
        assert [n.op for n in g.nodes] == ["TRANSPOSE_CONV", "ADD"]


def test_the_phase_kernel_runs(tmp_path):
    """The library calls the phase kernel, with in_c as a constant, and the padded copy
    of the input only where a window crosses the border (SAME 3x3 stride 2 on the last row
    and column; VALID 2x2 stride 2 never)."""
    for case, padded in (("k3_s2_same_c8_c16", True), ("k2_s2_valid_c8_c16", False)):
        lib, _ = compiler.compile_graph(compiler.load_graph(str(TCONV / f"{case}.tflite")), "m")
        calls = [line for line in lib.files["m.cc"].decode().splitlines() if "transpose_conv2d" in line]
        assert len(calls) == 1 and "dlcoder_rt::transpose_conv2d_f32<8>(par, " in calls[0], calls
        assert calls[0].endswith(", nullptr);") != padded, calls[0]


# AVX-512, the default path here, runs every case above; the others take the two cases
# that cover partial panels, batch 2 and phases of unequal sizes (each case is a compile).
@pytest.mark.parametrize("isa", sorted(set(X86_ISAS) - {"avx512"}))
@pytest.mark.parametrize("case", ISA_CASES[:2])
def test_x86_path(isa, case, tmp_path):
    _check(case, tmp_path, (*SPLIT_ALL, f"-DDLCODER_RT_FORCE_ISA={x86_isa(isa)}"), threads=(1, 2))


@pytest.mark.parametrize("isa", ["neon", "scalar"])
@pytest.mark.parametrize("case", ISA_CASES[1:2])
def test_aarch64_path(isa, case, tmp_path):
    flags = SPLIT_ALL if isa == "neon" else (*SPLIT_ALL, "-DDLCODER_RT_FORCE_ISA=0")
    cxx, emulator = aarch64_toolchain()
    _check(case, tmp_path, flags, cxx=cxx, emulator=emulator)


@pytest.mark.parametrize("cxx,std", [("g++", "c++17"), ("clang++", "c++20")])
def test_compiles_warning_free(cxx, std, tmp_path):
    """As test_warnings.py, whose shared models have no TRANSPOSE_CONV: the padded copy,
    in_c as a constant and not (two models)."""
    tool = shutil.which(cxx)
    assert tool, f"{cxx} not installed"
    for case in ("k3_s2_valid_outpad1_c4_c6", "k3_s2_same_c72_c24"):
        lib, _ = compiler.compile_graph(compiler.load_graph(str(TCONV / f"{case}.tflite")), "m")
        compiler.write_library(lib, str(tmp_path / case))
        res = subprocess.run([tool, f"-std={std}", *WARNING_FLAGS, f"-I{tmp_path / case}", "-c",
                              str(tmp_path / case / "m.cc"), "-o", "/dev/null"], capture_output=True, text=True)
        assert res.returncode == 0 and not res.stderr.strip(), f"{cxx} -std={std}: {res.stderr[:3000]}"
