"""Facts that Python and the C++ runtime share have one source each (codegen/runtime_facts.py):
the generator reads the runtime's constants and struct layouts out of its headers, and the
generated code static_asserts what Python computes by formulas of its own. A change on
either side stops the generator or the C++ build; it never changes the numbers."""
import shutil
import subprocess

import pytest

from dlcoder import compiler
from dlcoder.codegen import cgen, runtime_facts
from dlcoder.codegen.runtime_facts import RUNTIME_DIR, HeaderFactError, RuntimeHeaders
from dlcoder.ops import _gemm, conv, fused
from support import TESTS

WINOGRAD = TESTS / "models" / "winograd" / "wino_same_27x25_c20_c40_relu6.tflite"
CONTRACT = TESTS / "models" / "contract" / "multi_io.tflite"   # a CONV_2D, an FC, ...


def runtime_copy(tmp_path, edits: dict):
    """A copy of the runtime with `edits`: header -> [(old, new)], each old text found once."""
    folder = tmp_path / "dlcoder_rt"
    shutil.copytree(RUNTIME_DIR, folder)
    edit_headers(folder, edits)
    return folder


def edit_headers(folder, edits: dict):
    for header, pairs in edits.items():
        text = (folder / header).read_text()
        for old, new in pairs:
            assert text.count(old) == 1, (header, old)
            text = text.replace(old, new)
        (folder / header).write_text(text)


def test_the_op_table_uses_the_headers_values():
    rt = RuntimeHeaders(RUNTIME_DIR)
    assert (_gemm.PANEL, _gemm.KMAX_MR) == (rt.constant("kPanel"), rt.constant("kMaxMR")) == (16, 12)
    assert (conv.WINO_MAX_GROUP, conv.WINO_CHUNK) == (rt.constant("kWinoMaxGroup"), rt.constant("kWinoChunk"))
    assert fused.MAX_CHAIN_SLOTS == rt.constant("kMaxChainSlots")
    assert rt.fields("dlcoder_rt::ChainSteps") == ("rows", "slots")
    assert rt.fields("LstmWeights")[:2] == ("wx", "wh")
    assert rt.fields("BatchMatMulParams")[:4] == ("dims", "a_strides", "b_strides", "o_strides")


@pytest.mark.parametrize("edit, why", [
    ("constexpr int32_t kWinoMaxGroup = 16 * 2;", "is not of the form"),
    ("constexpr int32_t kWinoMaxGroupWidth = 32;", "found: none"),
    ("constexpr int32_t kWinoMaxGroup = 32;\nconstexpr int kWinoMaxGroup = 32;", "params.h:"),
], ids=["expression", "renamed", "twice"])
def test_a_constant_that_cannot_be_read_raises(tmp_path, edit, why):
    folder = runtime_copy(tmp_path, {"params.h": [("constexpr int32_t kWinoMaxGroup = 32;", edit)]})
    with pytest.raises(HeaderFactError, match="kWinoMaxGroup") as err:
        RuntimeHeaders(folder).constant("kWinoMaxGroup")
    assert why in str(err.value)


def test_a_struct_the_generator_cannot_read_raises(tmp_path):
    folder = runtime_copy(tmp_path, {"params.h": [("  int32_t slots;", "  int32_t slots = 0;")]})
    with pytest.raises(HeaderFactError, match="ChainSteps: not a plain data member"):
        RuntimeHeaders(folder).fields("ChainSteps")


def test_struct_fields_follow_the_header(tmp_path, monkeypatch):
    """Reordered fields of ConvParams: the generated initializer follows the header; a
    renamed one stops generation, naming it."""
    folder = runtime_copy(tmp_path, {"params.h": [("  int32_t pad_top, pad_left;\n  int32_t groups;",
                                                   "  int32_t groups;\n  int32_t pad_left, pad_top;")]})
    monkeypatch.setattr(runtime_facts, "RUNTIME", RuntimeHeaders(folder))
    lib, _ = compiler.compile_graph(compiler.load_graph(str(CONTRACT)), "m")
    source = lib.files["m.cc"].decode()
    assert "/*dil_w=*/1, /*groups=*/1, /*pad_left=*/1, /*pad_top=*/1, /*act=*/" in source
    assert lib.files["dlcoder_rt/params.h"] == (folder / "params.h").read_bytes()

    edit_headers(folder, {"params.h": [("int32_t pad_left, pad_top;", "int32_t pad_x, pad_y;")]})
    monkeypatch.setattr(runtime_facts, "RUNTIME", RuntimeHeaders(folder))
    with pytest.raises(HeaderFactError, match="ConvParams .*no field pad_top, pad_left; pad_x, pad_y not given"):
        compiler.compile_graph(compiler.load_graph(str(CONTRACT)), "m")


def test_struct_init_refuses_unknown_and_missing_fields():
    with pytest.raises(HeaderFactError, match="no field out_c; slots not given"):
        cgen.struct_init("ChainSteps", {"rows": 1, "out_c": 2})


def test_generated_code_checks_python_against_the_runtime(tmp_path):
    """One translation unit: a Winograd conv's model.cc, with Python's arena by thread count
    checked against the header's ArenaBytes. It compiles; with the runtime's kWinoMaxGroup,
    kMaxMR or kPanel changed behind the generator's back, it does not."""
    lib, _ = compiler.compile_graph(compiler.load_graph(str(WINOGRAD)), "m", "ns")
    source = lib.files["m.cc"].decode()
    assert "dlcoder_rt::conv2d_f32_winograd(" in source and "static_assert(dlcoder_rt::wino_scratch(" in source
    compiler.write_library(lib, str(tmp_path / "lib"))
    io = int(lib.files["m.h"].decode().split("kArenaBytes = ")[1].split(";")[0]) - lib.arena_bytes
    checks = "".join(f'static_assert(ns::m::ArenaBytes({t}) == {io + lib.arena_bytes_threads(t)}, "arena");\n'
                     for t in range(1, 6))
    tu = tmp_path / "lib" / "check.cc"
    tu.write_text('#include "m.cc"\n' + checks)

    def syntax_check():
        return subprocess.run(["g++", "-std=c++17", "-fsyntax-only", "-I", str(tmp_path / "lib"), str(tu)],
                              capture_output=True, text=True)
    ok = syntax_check()
    assert ok.returncode == 0, ok.stderr

    edit_headers(tmp_path / "lib" / "dlcoder_rt", {"params.h": [
        ("kWinoMaxGroup = 32;", "kWinoMaxGroup = 64;"), ("kMaxMR = 12;", "kMaxMR = 6;"),
        ("kPanel = 16;", "kPanel = 32;")]})
    bad = syntax_check()
    assert bad.returncode != 0
    for why in ("_wino_scratch differs from params.h", "tile rows kMR exceed kMaxMR",
                "written for 16-column panels"):
        assert why in bad.stderr, bad.stderr[-3000:]
    assert '"arena"' not in bad.stderr
