"""Every instruction-set path of the SIMD kernels, forced with -DDLCODER_RT_FORCE_ISA, on
models that hit every kernel with awkward sizes; aarch64 NEON under qemu. The path the
machine picks by itself is covered by all the other tests too.

Each build also runs the edge values of test_edge_values.py (0, -0, +-1e4, +-90, +-inf,
NaN): the committed inputs check the arithmetic, the edge values that every path gives
TFLite's inf and NaN. The edge model of test_edge_values.py puts the elementwise, softmax,
pool and reduction kernels on one input, with the issue's regression values."""


import pytest

from dlcoder import compiler, verify as V
from ci import skip_unless_ci
from support import TESTS, aarch64_toolchain, load_npz_inputs
from test_edge_values import edge_input_sets, edge_model, edge_model_problems, mismatches, run_sets

CONTRACT = TESTS / "models" / "contract"
OPS = TESTS / "models" / "ops"
MODELS = [CONTRACT / "isa_coverage.tflite"] + [OPS / f"{n}.tflite" for n in (
    "net_attention_block", "net_conv_dw_residual_fc", "net_hardswish_squeeze_excite",
    "net_pad_conv_pools", "conv_3x3_dil2_same", "conv_3x3_valid_s2_batch2", "net_resnet_basic_batch2", "net_resnet_bottleneck", "net_expand_dw_c136",
    "sub_nhwc_c3_channel_mean", "sub_c5_vector_minus_nhwc", "mul_nhwc_c7_relu",
    "conv_3x3_same_cin17_cout33", "dw_3x3_same_dil2", "dw_3x3_same_s1_c17_relu6", "fc_batch3_relu6", "bmm_rank3_n32_in_place",
    "dw_5x5_same_h2_c20", "dw_3x3_same_h1_c20", "dw_5x5_same_h1_c20", "conv_3x3_same_w40_s1",
    "dw_3x3_same_s2_c20_relu6", "dw_5x5_same_s2_c32",
    "conv_5x5_same_w38_s2", "net_conv3x3_c12_residual", "conv_3x3_same_s2_cin3_cout8_w37",
    "conv_5x5_valid_cin1_cout6_w32", "conv_3x3_valid_dil2x1_batch2_cout7", "net_lstm_cell_gates_3021", "layer_norm_keras_no_center", "net_se_project",
    "gelu_exact", "net_fc_gelu_epilogues")]
LSTM = TESTS / "models" / "rnn" / "lstm_peephole_layer_norm.tflite"
WINOGRAD = TESTS / "models" / "winograd" / "wino_same_27x25_c20_c40_relu6.tflite"
MODELS += [LSTM, WINOGRAD, TESTS / "models" / "winograd" / "wino_pad_conv_residual.tflite"]


FLAGS = set(V.cpu_features())
X86_ISAS = {"scalar": (0, set()), "sse2": (1, {"sse2"}), "avx2": (2, {"avx2", "fma"}),
            "avx512": (3, {"avx512f", "avx512vl"})}


def inputs_for(model, g):
    npz = model.with_suffix(".npz")
    return load_npz_inputs(npz, g) if npz.exists() else V.random_inputs(g, seed=11)


def check(model, tmp_path, flags, cxx=None, emulator=()):
    g0 = compiler.load_graph(str(model))
    lib, g = compiler.compile_graph(g0, "m")
    compiler.write_library(lib, str(tmp_path / "lib"))
    exe = V.build_runner(str(tmp_path / "lib"), "m", str(tmp_path), cxx=cxx, flags=flags)
    inputs = inputs_for(model, g0)
    ours, _ = V.run_runner(exe, g, inputs, str(tmp_path), emulator=emulator)
    refs, _ = V.reference_run(str(model), inputs)
    assert len(ours) == len(refs), f"{model.name}: {len(ours)} outputs, TFLite has {len(refs)}"
    for k, (o, r) in enumerate(zip(ours, refs)):
        c = V.compare(o, r, k)
        assert c.ok, f"{model.name} output {k}: relative error {c.relative}"
    sets = edge_input_sets(model.stem, g0, inputs)
    bad = mismatches(model, g0, run_sets(exe, g, sets, tmp_path, emulator=emulator), sets)
    assert not bad, f"{model.name} on edge values:\n" + "\n".join(line for _, line in bad)


def check_edge_model(tmp_path, flags, cxx=None, emulator=()):
    edge_model(tmp_path / "edge.tflite")
    lib, g = compiler.compile_graph(compiler.load_graph(str(tmp_path / "edge.tflite")), "m")
    compiler.write_library(lib, str(tmp_path / "lib"))
    exe = V.build_runner(str(tmp_path / "lib"), "m", str(tmp_path), cxx=cxx, flags=flags)
    problems = edge_model_problems(exe, g, tmp_path, tmp_path / "edge.tflite", emulator=emulator)
    bad = [f"{name}: {line}" for name, lines in problems.items() for line in lines]
    assert not bad, "\n".join(bad)


def x86_isa(isa: str) -> int:
    """The DLCODER_RT_FORCE_ISA number of an x86 path. Where this CPU cannot run it the test
    skips, except under CI (CI=true), where it fails: a green CI run has run every path,
    AVX-512 included, so CI needs an x86-64 machine with AVX-512 (avx512f, avx512vl)."""
    number, needs = X86_ISAS[isa]
    problem = ("not an x86-64 machine" if "sse2" not in FLAGS else
               f"this CPU lacks {sorted(needs - FLAGS)}" if not needs <= FLAGS else None)
    if problem is None:
        return number
    skip_unless_ci(problem, f"the {isa} path cannot run here: {problem} (CI=true: a path "
                            f"that cannot run fails rather than skips)")


@pytest.mark.parametrize("ci,outcome", [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_a_path_this_cpu_lacks_fails_under_ci(ci, outcome, monkeypatch):
    """Without AVX-512 the avx512 tests skip on a desk and fail under CI=true."""
    monkeypatch.setenv("CI", ci)
    monkeypatch.setitem(globals(), "FLAGS", {"sse2", "avx2", "fma"})
    assert x86_isa("avx2") == 2
    with pytest.raises(outcome, match=r"avx512f"):
        x86_isa("avx512")


@pytest.mark.parametrize("isa", sorted(X86_ISAS))
@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_x86_path(isa, model, tmp_path):
    number = x86_isa(isa)
    check(model, tmp_path, ("-O2", f"-DDLCODER_RT_FORCE_ISA={number}"))


@pytest.mark.parametrize("isa", ["neon", "scalar"])
@pytest.mark.parametrize("model", MODELS[:5] + [LSTM, WINOGRAD], ids=lambda p: p.stem)
def test_aarch64_path(isa, model, tmp_path):
    flags = ("-O2",) if isa == "neon" else ("-O2", "-DDLCODER_RT_FORCE_ISA=0")
    cxx, emulator = aarch64_toolchain()
    check(model, tmp_path, flags, cxx=cxx, emulator=emulator)


@pytest.mark.parametrize("isa", sorted(X86_ISAS))
def test_x86_edge_model(isa, tmp_path):
    """The edge model (every vector kernel's inf and NaN, and the regression values) on
    each x86 path."""
    number = x86_isa(isa)
    check_edge_model(tmp_path, ("-O2", f"-DDLCODER_RT_FORCE_ISA={number}"))


@pytest.mark.parametrize("isa", ["neon", "scalar"])
def test_aarch64_edge_model(isa, tmp_path):
    flags = ("-O2",) if isa == "neon" else ("-O2", "-DDLCODER_RT_FORCE_ISA=0")
    cxx, emulator = aarch64_toolchain()
    check_edge_model(tmp_path, flags, cxx=cxx, emulator=emulator)
