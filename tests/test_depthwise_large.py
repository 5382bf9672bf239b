"""Float DEPTHWISE_CONV_2D on larger maps against the TFLite interpreter, on
tests/models/depthwise_large/ (make_depthwise_models.py): the row pairs of stride-1 3x3 and
5x5 kernels, the wide (pixel-major) rows of 64+ channels, and the cases that take neither
(dilation 2, a HARD_SWISH epilogue), with odd maps, SAME and VALID, stride 2, batch 2 and
partial channel blocks. Each case also runs on 3 threads, which split the rows mid-pair,
and must give the same bytes as on one; a few run on every forced x86 instruction set.
A layer names what it reaches (conv.h: DwSpec), and its library holds only those variants."""
import json
import re
import subprocess

import numpy as np
import pytest

from dlcoder import compiler, verify as V
from support import TESTS, load_npz_inputs
from test_isa import x86_isa

DW = TESTS / "models" / "depthwise_large"
CASES = sorted(json.loads((DW / "cases.json").read_text()))
# one case per path: row pairs with a partial block, wide rows at stride 2, wide rows
# beside row pairs, neither
ISA_CASES = ["dw5_s1_same_25x27_c40_relu", "dw3_s2_same_25x27_c72", "dw3_s1_same_21x23_c72_relu6",
             "dw3_s1_same_dil2_27x25_c32_relu6"]


def _run(case, tmp_path, flags=("-O2",), threads=(1,)):
    """Our outputs for each thread count and TFLite's, on the case's npz inputs."""
    model = DW / f"{case}.tflite"
    g0 = compiler.load_graph(str(model))
    lib, g = compiler.compile_graph(g0, "m")
    source = lib.files["m.cc"].decode()
    assert source.count("depthwise_conv2d_f32_simd<") == 1, "not the SIMD depthwise kernel"
    assert [n.op for n in g.nodes] == ["DEPTHWISE_CONV_2D"], "the HARD_SWISH is not fused"
    compiler.write_library(lib, str(tmp_path / "lib"))
    exe = V.build_runner(str(tmp_path / "lib"), "m", str(tmp_path), flags=flags)
    inputs = load_npz_inputs(DW / f"{case}.npz", g0)
    ours = [V.run_runner(exe, g, inputs, str(tmp_path), threads=n)[0] for n in threads]
    refs, _ = V.reference_run(str(model), inputs)
    return ours, refs


def _check(ours, refs, case):
    assert len(ours) == len(refs) == 1
    c = V.compare(ours[0], refs[0], 0)
    assert c.ok, f"{case}: max abs err {c.max_abs}, relative {c.relative}"


def test_every_case_is_listed():
    assert len(CASES) >= 14, CASES
    assert set(ISA_CASES) <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_depthwise_against_tflite(case, tmp_path):
    (one, three), refs = _run(case, tmp_path, threads=(1, 3))
    _check(one, refs, case)
    for a, b in zip(one, three):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes(), f"{case}: 3 threads differ from 1"


@pytest.mark.parametrize("isa", ["scalar", "sse2", "avx2"])
@pytest.mark.parametrize("case", ISA_CASES)
def test_depthwise_forced_isa(case, isa, tmp_path):
    number = x86_isa(isa)
    (ours,), refs = _run(case, tmp_path, flags=("-O2", f"-DDLCODER_RT_FORCE_ISA={number}"))
    _check(ours, refs, case)


def _dw_variants(exe):
    """The (KH, KW) of the unrolled depthwise interiors among the executable's symbols (a
    row pair's dwconv_interior_pair<KH> is KH x KH)."""
    names = subprocess.run(["nm", "-C", exe], capture_output=True, text=True, check=True).stdout
    return {(kh, kw or kh) for kh, kw in re.findall(r"dwconv_interior\w*<(\d)(?:, (\d))?", names)}


def test_only_reached_variants_are_instantiated(tmp_path):
    """A 3x3 stride-1 SAME layer on 32 channels instantiates no 5x5 kernel, no 1-row variant
    (its rows have 2 or 3 window rows inside the input), no 2x2 row pair, and gives
    TFLite's output; the same source with the generic DwSpec<> instantiates 5x5 variants
    (so the symbol check can see them) and gives the same bytes."""
    case = "dw3_s1_same_33x31_c32_relu6"
    model = DW / f"{case}.tflite"
    g0 = compiler.load_graph(str(model))
    lib, g = compiler.compile_graph(g0, "m")
    source = lib.files["m.cc"].decode()
    assert "DwSpec<3, 1, 0xcu, true, false>" in source
    inputs = load_npz_inputs(DW / f"{case}.npz", g0)
    refs, _ = V.reference_run(str(model), inputs)
    outs, variants = {}, {}
    for kind, text in (("spec", source), ("generic", re.sub(r"DwSpec<[^>]*>", "DwSpec<>", source))):
        work = tmp_path / kind
        compiler.write_library(lib, str(work / "lib"))
        (work / "lib" / "m.cc").write_text(text)
        exe = V.build_runner(str(work / "lib"), "m", str(work))
        outs[kind] = V.run_runner(exe, g, inputs, str(work))[0]
        variants[kind] = _dw_variants(exe)
    _check(outs["spec"], refs, case)
    assert outs["spec"][0].tobytes() == outs["generic"][0].tobytes()
    assert ("5", "5") in variants["generic"], variants["generic"]
    assert ("3", "3") in variants["spec"] and variants["spec"] <= {("2", "3"), ("3", "3")}, variants["spec"]
