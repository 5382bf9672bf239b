"""Every instruction-set path of the quantized CONV_2D, DEPTHWISE_CONV_2D and
FULLY_CONNECTED kernels (simd_qlinear.h) gives TFLite's bytes: each x86 path forced with
-DDLCODER_RT_FORCE_ISA (and -DDLCODER_RT_FORCE_DOT for AVX-512 with and without VNNI),
aarch64 NEON with and without the dot-product instructions, and the portable path, under
qemu.

The hand-built model puts the one-op models of test_quantized_linear.py (its builders)
side by side, with sizes that land on every edge of the kernels: output channels not a
multiple of 4, 8 or 16 (panel and depthwise-block tails, the half-away channels of the
depthwise scalar tail), k not a multiple of 4, more rows than a tile, batch 2, stride 2,
SAME padding, dilation, depth multiplier 2, uint8 activations with uint8 (int16) weights,
and scales that put results on rounding ties. Then the shared mobilenet_v1_025_int8.
"""
import numpy as np
import pytest

import test_quantized_linear as TQL
from dlcoder import compiler, verify as V
from support import SHARED_MODELS, aarch64_toolchain, byte_mismatches, require_shared, run_ours
from test_isa import FLAGS, x86_isa

# name: (builder, args, kwargs) of test_quantized_linear's builders
CONV = TQL._conv_model
FC = TQL._fc_model
CASES = {
    "conv_i8_3x3_s2_b2_k45_c13": (CONV, (np.int8, (2, 9, 10, 5), (13, 3, 3, 5), (2, 2), (1, 1), "SAME", "RELU6",
                                         True, False), {}),
    "conv_i8_1x1_k19_c37": (CONV, (np.int8, (1, 5, 7, 19), (37, 1, 1, 19), (1, 1), (1, 1), "VALID", "NONE",
                                   True, False), {}),
    "conv_i8_3x3_k27_c33_w13": (CONV, (np.int8, (1, 13, 13, 3), (33, 3, 3, 3), (1, 1), (1, 1), "SAME", "RELU",
                                       True, False), {}),
    "conv_i8_dil_valid_c7": (CONV, (np.int8, (1, 12, 10, 6), (7, 3, 3, 6), (1, 2), (2, 1), "VALID", "NONE",
                                    False, False), {}),
    "conv_i8_ties_c13": (CONV, (np.int8, (1, 6, 7, 9), (13, 3, 3, 9), (1, 1), (1, 1), "SAME", "NONE",
                                False, False), {"ties": True}),
    "conv_u8_3x3_b2_c17": (CONV, (np.uint8, (2, 8, 7, 6), (17, 3, 3, 6), (2, 1), (1, 1), "SAME", "RELU6",
                                  False, False), {}),
    "conv_u8_ties_c13": (CONV, (np.uint8, (1, 6, 7, 9), (13, 3, 3, 9), (1, 1), (1, 1), "SAME", "NONE",
                                False, False), {"ties": True}),
    "dw_i8_3x3_s2_c21": (CONV, (np.int8, (1, 9, 8, 21), (1, 3, 3, 21), (2, 2), (1, 1), "SAME", "RELU6",
                                True, True), {}),
    "dw_i8_3x3_c40_b2": (CONV, (np.int8, (2, 6, 5, 40), (1, 3, 3, 40), (1, 1), (1, 1), "SAME", "NONE",
                                True, True), {}),
    "dw_i8_ties_c13": (CONV, (np.int8, (1, 7, 6, 13), (1, 3, 3, 13), (1, 1), (1, 1), "SAME", "NONE",
                              False, True), {"ties": True}),
    "dw_i8_ties_c35": (CONV, (np.int8, (1, 5, 6, 35), (1, 3, 3, 35), (1, 1), (1, 1), "SAME", "NONE",
                              False, True), {"ties": True}),
    "dw_i8_mult2_s2_b2": (CONV, (np.int8, (2, 9, 10, 3), (1, 3, 3, 6), (2, 2), (1, 1), "SAME", "NONE",
                                 True, True), {}),
    "dw_i8_5x5_dil_c4": (CONV, (np.int8, (1, 12, 12, 4), (1, 5, 5, 4), (1, 1), (2, 2), "VALID", "RELU",
                                False, True), {}),
    "dw_u8_ties_s2_c21": (CONV, (np.uint8, (1, 7, 6, 21), (1, 3, 3, 21), (2, 2), (1, 1), "SAME", "NONE",
                                 False, True), {"ties": True}),
    "dw_i8_3x3_c8_w23_grouped": (CONV, (np.int8, (1, 5, 23, 8), (1, 3, 3, 8), (1, 1), (1, 1), "SAME", "RELU6",
                                        True, True), {}),
    "dw_i8_5x5_s2_c72": (CONV, (np.int8, (1, 9, 10, 72), (1, 5, 5, 72), (2, 2), (1, 1), "SAME", "NONE",
                                True, True), {}),
    "dw_u8_5x5_c40_b2": (CONV, (np.uint8, (2, 7, 8, 40), (1, 5, 5, 40), (1, 1), (1, 1), "SAME", "RELU6",
                                False, True), {}),
    "fc_i8_r3_k37_c11": (FC, (np.int8, 3, 37, 11, "NONE", True, False), {}),
    "fc_i8_r13_k130_c33": (FC, (np.int8, 13, 130, 33, "RELU", True, False), {}),
    "fc_i8_ties_r5_k24_c19": (FC, (np.int8, 5, 24, 19, "NONE", False, False), {"ties": True}),
    "fc_u8_r2_k30_c12": (FC, (np.uint8, 2, 30, 12, "NONE", False, False), {}),
    "fc_u8_ties_r5_k23_c19": (FC, (np.uint8, 5, 23, 19, "NONE", False, False), {"ties": True}),
    # the AMX kernels' edges (simd_qamx.h): k in two blocks of 48 read in place, 49 rows (17
    # copied), channels in a panel pair and a lone panel; k 160 in four blocks of 40 with
    # ties; k 68, packed as 72; rows past 32 with k not a multiple of 4
    "conv_i8_1x1_k96_c40": (CONV, (np.int8, (1, 7, 7, 96), (40, 1, 1, 96), (1, 1), (1, 1), "VALID", "RELU6",
                                   True, False), {}),
    "conv_i8_ties_1x1_k160_c33": (CONV, (np.int8, (2, 5, 4, 160), (33, 1, 1, 160), (1, 1), (1, 1), "VALID",
                                         "NONE", False, False), {"ties": True}),
    "conv_i8_1x1_k68_c9": (CONV, (np.int8, (1, 4, 5, 68), (9, 1, 1, 68), (1, 1), (1, 1), "VALID", "NONE",
                                  False, False), {}),
    "conv_i8_3x3_s2_cin3_c16_w37": (CONV, (np.int8, (1, 15, 37, 3), (16, 3, 3, 3), (2, 2), (1, 1), "SAME",
                                           "RELU6", True, False), {}),
    "fc_i8_r70_k256_c50": (FC, (np.int8, 70, 256, 50, "RELU", True, False), {}),
    "fc_i8_ties_r37_k30_c17": (FC, (np.int8, 37, 30, 17, "NONE", False, False), {"ties": True}),
}
SHARED = SHARED_MODELS / "mobilenet_v1_025_int8.tflite"


def build_cases(path):
    """One model with every case, side by side (their builders all add to the same
    HandModel); returns (inputs, the case name of every output)."""
    inputs, names = [], []
    with TQL.one_model() as shared:
        for k, (name, (builder, args, kw)) in enumerate(CASES.items()):
            _, xs = builder(*args, seed=1000 + k, **kw)
            inputs += xs
            names.append(name)
    path.write_bytes(shared.build())
    return inputs, names


def check(tmp_path, flags, cxx=None, emulator=()):
    require_shared()
    model = tmp_path / "cases.tflite"
    inputs, names = build_cases(model)
    problems = []
    for path, ins, labels in ((model, inputs, names), (SHARED, None, None)):
        if ins is None:
            ins = V.random_inputs(compiler.load_graph(str(path)), seed=3)
        work = tmp_path / path.stem
        work.mkdir()
        ours, _, _ = run_ours(path, ins, work, flags=flags, cxx=cxx, emulator=emulator)
        refs, _ = V.reference_run(str(path), ins)
        problems += byte_mismatches(labels or [f"{path.stem} output {k}" for k in range(len(refs))], ours, refs)
    assert not problems, "\n".join(problems)


# path: (DLCODER_RT_FORCE_ISA name of test_isa, -DDLCODER_RT_FORCE_DOT value, extra CPU flags)
X86_PATHS = {"scalar": ("scalar", None, set()), "sse2": ("sse2", None, set()), "avx2": ("avx2", None, set()),
             "avx512bw": ("avx512", 0, {"avx512bw"}), "avx512vnni": ("avx512", 1, {"avx512bw", "avx512_vnni"})}


def x86_flags(path: str) -> tuple:
    """The compiler flags that force an x86 path; skips (fails under CI) where the CPU lacks it."""
    isa, dot, needs = X86_PATHS[path]
    number = x86_isa(isa)
    if not needs <= FLAGS:
        from ci import skip_unless_ci
        skip_unless_ci(f"this CPU lacks {sorted(needs - FLAGS)}",
                       f"the {path} path cannot run here: this CPU lacks {sorted(needs - FLAGS)} "
                       f"(CI=true: a path that cannot run fails rather than skips)")
    return ("-O2", f"-DDLCODER_RT_FORCE_ISA={number}") + (() if dot is None else (f"-DDLCODER_RT_FORCE_DOT={dot}",))


@pytest.mark.parametrize("path", sorted(X86_PATHS))
def test_x86_path(path, tmp_path):
    check(tmp_path, x86_flags(path))


# neondot: the machine's own choice (qemu reports the dot-product instructions);
# neon: the dot product forced off; scalar: the portable path
AARCH64_PATHS = {"neondot": ("-O2",), "neon": ("-O2", "-DDLCODER_RT_FORCE_DOT=0"),
                 "scalar": ("-O2", "-DDLCODER_RT_FORCE_ISA=0")}


@pytest.mark.parametrize("path", sorted(AARCH64_PATHS))
def test_aarch64_path(path, tmp_path):
    cxx, emulator = aarch64_toolchain()
    check(tmp_path, AARCH64_PATHS[path], cxx=cxx, emulator=emulator)


def test_aarch64_reports_dotprod(tmp_path):
    """The neondot test runs the dot-product kernels only if qemu reports them: check it."""
    cxx, emulator = aarch64_toolchain()
    import subprocess
    from support import ROOT
    src = tmp_path / "dot.cc"
    src.write_text('#include "dlcoder_rt/isa.h"\n#include <cstdio>\n'
                   'int main() { std::printf("%d", dlcoder_rt::runtime_int8_dot() ? 1 : 0); }\n')
    exe = tmp_path / "dot"
    subprocess.run([cxx, "-std=c++17", "-O2", f"-I{ROOT / 'dlcoder' / 'runtime'}", str(src), "-o", str(exe)],
                   check=True)
    out = subprocess.run([*emulator, str(exe)], capture_output=True, text=True, check=True).stdout
    assert out == "1"


def test_x86_vnni_without_amx(tmp_path):
    """On a CPU with AMX the avx512vnni path above runs the AMX kernels for CONV_2D and
    FULLY_CONNECTED (test_amx_is_used_where_the_cpu_has_it): this runs their VNNI kernels, AMX
    forced off."""
    check(tmp_path, x86_flags("avx512vnni") + ("-DDLCODER_RT_FORCE_AMX=0",))


def test_amx_is_used_where_the_cpu_has_it(tmp_path):
    """Where the CPU has AMX-INT8, runtime_amx() grants it (CPUID, XCR0, the arch_prctl
    request), so the avx512vnni test runs the AMX kernels; and FORCE_AMX=0 turns it off.
    Where it lacks AMX (AMD Zen 4, Intel before Sapphire Rapids), the runtime must say so
    and pick another path: AMX is not part of the machines this suite must run on."""
    import subprocess
    from support import ROOT
    has_amx = {"amx_tile", "amx_int8"} <= FLAGS
    src = tmp_path / "amx.cc"
    src.write_text('#include "dlcoder_rt/simd_qlinear.h"\n#include <cstdio>\n'
                   'int main() { std::printf("%d %d", dlcoder_rt::runtime_amx() ? 1 : 0,\n'
                   '  dlcoder_rt::qlinear_path<int8_t>() == dlcoder_rt::QPath::kAmx ? 1 : 0); }\n')
    for flags, want in ((("-O2",), "1 1" if has_amx else "0 0"), (("-O2", "-DDLCODER_RT_FORCE_AMX=0"), "0 0")):
        exe = tmp_path / "amx"
        subprocess.run(["c++", "-std=c++17", *flags, f"-I{ROOT / 'dlcoder' / 'runtime'}", str(src), "-o", str(exe)],
                       check=True)
        assert subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout == want
