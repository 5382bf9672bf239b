"""The binary size budget (compiler.py: weight_budget, --optimize-for): code + read-only
data of the linked library within 1.25 x the weights as float32 + 1 MB, measured as
`dlcoder bench` does (bench.library_size), on small models only; and the options' checks
in the CLI and the compiler."""
import subprocess
import sys

import pytest

from dlcoder import compiler
from dlcoder.bench import library_size
from support import TESTS

# Compiled: an FC net and a single narrow conv (each of which fits the budget). A conv net
# with a depthwise conv has more than 1 MB of code alone (f16_conv_net: 1.34 MB, 0.45 MB of
# it GEMM tiles and 0.45 MB depthwise kernels over the 4 x86 paths), which no weight layout
# brings within the budget.
MODELS = [TESTS / "models" / "f16" / "f16_mlp.tflite", TESTS / "models" / "ops" / "conv_5x5_valid_cin1_cout6_w32.tflite"]
CONV_NET = TESTS / "models" / "f16" / "f16_conv_net.tflite"


def budget(g) -> int:
    return int(compiler.BUDGET_RATIO * compiler.float32_weight_bytes(g)) + compiler.BUDGET_SLACK


def code_and_rodata(lib, tmp_path) -> int:
    compiler.write_library(lib, str(tmp_path / "lib"))
    sizes = library_size(str(tmp_path / "lib"), str(tmp_path))
    return sizes["code"] + sizes["rodata"]


@pytest.mark.parametrize("optimize_for", ["size", "budget"])
@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_within_budget(model, optimize_for, tmp_path):
    lib, g = compiler.compile_graph(compiler.load_graph(str(model)), "m", optimize_for=optimize_for)
    assert code_and_rodata(lib, tmp_path) <= budget(g)


def test_size_drops_the_larger_layouts():
    """--optimize-for=size: no Winograd filter, no second filter copy of a narrow conv,
    fewer weight bytes than speed."""
    g0 = compiler.load_graph(str(CONV_NET))
    speed, _ = compiler.compile_graph(g0, "m", optimize_for="speed")
    size, g = compiler.compile_graph(g0, "m", optimize_for="size")
    assert b"winograd" in speed.files["m.cc"] and b"winograd" not in size.files["m.cc"]
    assert size.weight_bytes < speed.weight_bytes
    assert all(n.attrs.get("layout") == "size" for n in g.nodes if n.op == "CONV_2D")


def test_default_takes_size_layouts_past_the_budget(monkeypatch):
    """Where the speed layouts' blob would pass the budget, the default takes the size
    layouts; within it, the speed ones."""
    g0 = compiler.load_graph(str(CONV_NET))
    speed, _ = compiler.compile_graph(g0, "m", optimize_for="speed")
    size, _ = compiler.compile_graph(g0, "m", optimize_for="size")
    assert compiler.compile_graph(g0, "m")[0].files == speed.files
    monkeypatch.setattr(compiler, "BUDGET_RATIO", 0.0)
    monkeypatch.setattr(compiler, "BUDGET_SLACK", compiler.CODE_ALLOWANCE + size.weight_bytes)
    assert compiler.compile_graph(g0, "m")[0].files == size.files


def test_compiler_rejects_an_unknown_goal():
    with pytest.raises(ValueError, match="optimize_for"):
        compiler.compile_graph(compiler.load_graph(str(MODELS[0])), "m", optimize_for="fast")


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "dlcoder", *map(str, args)], capture_output=True, text=True)


def test_cli_flags(tmp_path):
    bad = run_cli("generate", MODELS[0], "--out-dir", tmp_path / "x", "--optimize-for", "fast")
    assert bad.returncode == 2 and "--optimize-for" in bad.stderr and "speed" in bad.stderr
    ok = run_cli("generate", MODELS[0], "--out-dir", tmp_path / "a", "--weights-f32", "--optimize-for", "size")
    assert ok.returncode == 0, ok.stderr
    half = run_cli("generate", MODELS[0], "--out-dir", tmp_path / "b")
    assert half.returncode == 0, half.stderr
    assert b"uint16_t" not in (tmp_path / "a" / "f16_mlp.cc").read_bytes()
    assert b"uint16_t" in (tmp_path / "b" / "f16_mlp.cc").read_bytes()
    blob_a = (tmp_path / "a" / "f16_mlp_weights.bin").stat().st_size
    blob_b = (tmp_path / "b" / "f16_mlp_weights.bin").stat().st_size
    assert blob_b < 0.6 * blob_a
