"""PRELU, LEAKY_RELU and ELU fused into the epilogue of CONV_2D (implicit GEMM, narrow,
1x1, Winograd, a pw-dw chain), DEPTHWISE_CONV_2D and FULLY_CONNECTED, and the standalone
vectorised PRELU, end to end against the TFLite interpreter on tests/models/prelu/
(make_prelu_models.py). Each case also checks what the passes made of it: the activation
gone into its producer (no PRELU / LEAKY_RELU / ELU op left, and no separate slope pass
over a SIMD kernel's output), or kept as an op where it must be."""
import json
import subprocess

import pytest

import test_isa
import test_warnings
from dlcoder import compiler
from support import TESTS, aarch64_toolchain, check_against_tflite, load_npz_inputs

PRELU = TESTS / "models" / "prelu"
CASES = sorted(json.loads((PRELU / "cases.json").read_text()))
ACTIVATIONS = {"PRELU", "LEAKY_RELU", "ELU"}

# case -> the ops left after the passes, where the activation is not fused away
KEPT = {
    "prelu_input_is_output": ["CONV_2D", "PRELU"],
    "prelu_standalone_channel": ["PRELU"],
    "prelu_standalone_hwc_b2": ["PRELU"],
    "prelu_standalone_h1c": ["PRELU"],
    "leaky_relu_standalone": ["LEAKY_RELU"],
}
# case -> a call the generated code must make (the kernel path the case is for)
PATH = {
    "conv3x3_prelu_channel": "conv2d_implicit_f32", "conv3x3_prelu_hwc_b2": "conv2d_implicit_f32",
    "conv1x1_prelu_channel": "conv2d_1x1_f32(", "conv1x1_prelu_hwc": "conv2d_1x1_f32(",
    "narrow_conv_prelu_c8": "conv2d_narrow_f32", "narrow_conv_prelu_hwc_c12": "conv2d_narrow_f32",
    "wino_prelu_channel": "conv2d_f32_winograd", "wino_prelu_hwc": "conv2d_f32_winograd",
    "depthwise_prelu_channel": "depthwise_conv2d_f32_simd", "depthwise_prelu_hwc": "depthwise_conv2d_f32_simd",
    "dense_prelu": "fully_connected_f32_gemm", "dense3d_prelu_rows": "fully_connected_f32_gemm",
    "chain_pw_prelu_dw_prelu_pj": "conv_chain_f32",
    "prelu_standalone_channel": "prelu_f32(", "prelu_standalone_hwc_b2": "prelu_f32(",
    "leaky_relu_standalone": "prelu_f32(",
}


def _epilogues(node) -> list:
    """The epilogues fused into node (and into the stages of a DLCODER_CONV_DW)."""
    stages = [node.attrs] + [node.attrs[k] for k in ("pw", "dw", "pj") if k in node.attrs]
    return [a["epilogue"] for a in stages if "epilogue" in a]


def _compile(model):
    lib, g = compiler.compile_graph(compiler.load_graph(str(model)), "m")
    return lib.files["m.cc"].decode(), g


def test_every_case_is_listed():
    assert len(CASES) >= 24, CASES
    assert set(KEPT) | set(PATH) <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_prelu_against_tflite(case, tmp_path):
    model = PRELU / f"{case}.tflite"
    g = compiler.load_graph(str(model))
    source, compiled = _compile(model)
    ops = [n.op for n in compiled.nodes]
    if case in KEPT:
        assert ops == KEPT[case]
    else:
        assert not ACTIVATIONS & set(ops), f"not fused: {ops}"
        assert sum(len(_epilogues(n)) for n in compiled.nodes) == (2 if case.startswith("chain") else 1)
    if case in PATH:
        assert PATH[case] in source, f"{case} does not take the {PATH[case]} path"
    # a slope in a SIMD kernel's epilogue, not a pass of its own after it; only the
    # depthwise rows, which do not know their pixel, apply a slope per element afterwards
    fused_pass = "prelu_f32(" in source and case not in KEPT
    assert fused_pass == (case == "depthwise_prelu_hwc"), source
    if case == "chain_pw_prelu_dw_prelu_pj":
        assert ops == ["DLCODER_CONV_DW"]
    check_against_tflite(model, tmp_path, inputs=load_npz_inputs(PRELU / f"{case}.npz", g))


# Every ISA path of the slope epilogues (test_isa.py's forced paths; aarch64 under qemu) on
# models that between them take each kernel with a slope per channel and per element.
ISA_CASES = ["conv3x3_prelu_hwc_b2", "narrow_conv_prelu_c8", "wino_prelu_hwc", "chain_pw_prelu_dw_prelu_pj",
             "depthwise_prelu_channel", "dense3d_prelu_rows", "prelu_standalone_hwc_b2"]


# AVX-512, this machine's default, runs every case above; AVX2 takes every kernel here,
# SSE2 and scalar the three whose slope code differs most (each build is a compile).
X86_PATHS = [("avx2", case) for case in ISA_CASES] + [
    (isa, case) for isa in ("sse2", "scalar")
    for case in ("conv3x3_prelu_hwc_b2", "wino_prelu_hwc", "depthwise_prelu_channel")]


@pytest.mark.parametrize("isa,case", X86_PATHS)
def test_prelu_x86_path(isa, case, tmp_path):
    number = test_isa.x86_isa(isa)
    test_isa.check(PRELU / f"{case}.tflite", tmp_path, ("-O2", f"-DDLCODER_RT_FORCE_ISA={number}"))


@pytest.mark.parametrize("isa", ["neon", "scalar"])
@pytest.mark.parametrize("case", ["wino_prelu_hwc", "chain_pw_prelu_dw_prelu_pj"])
def test_prelu_aarch64_path(isa, case, tmp_path):
    flags = ("-O2",) if isa == "neon" else ("-O2", "-DDLCODER_RT_FORCE_ISA=0")
    cxx, emulator = aarch64_toolchain()
    test_isa.check(PRELU / f"{case}.tflite", tmp_path, flags, cxx=cxx, emulator=emulator)


@pytest.mark.parametrize("cxx,std", [("g++", "c++17"), ("clang++", "c++20")])
@pytest.mark.parametrize("case", ["chain_pw_prelu_dw_prelu_pj", "dense_leaky_relu"])
def test_prelu_compiles_warning_free(case, cxx, std, tmp_path):
    """The generated code of a slope (bound at the call, named for a chain, a pass after a
    kernel) under test_warnings.py's flags."""
    tool = test_warnings._compiler(cxx)
    lib, _ = compiler.compile_graph(compiler.load_graph(str(PRELU / f"{case}.tflite")), "m")
    compiler.write_library(lib, str(tmp_path))
    for src in sorted(tmp_path.glob("*.cc")):
        res = subprocess.run([tool, f"-std={std}", *test_warnings.FLAGS, f"-I{tmp_path}", "-c", str(src),
                              "-o", "/dev/null"], capture_output=True, text=True)
        assert res.returncode == 0 and not res.stderr.strip(), f"{cxx} -std={std}: {res.stderr[:3000]}"
