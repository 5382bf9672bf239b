"""The output contract of `dlcoder generate` (README, "Output contract")."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from dlcoder import compiler, verify as V
from dlcoder.frontend import tflite as frontend
from support import TESTS, aarch64_toolchain

MODEL = TESTS / "models" / "contract" / "multi_io.tflite"
CXX = os.environ.get("CXX", "c++")


def generate(out, *extra, model=MODEL):
    res = subprocess.run([sys.executable, "-m", "dlcoder", "generate", str(model), "--out-dir", str(out),
                          *extra], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return out


def sources(folder):
    return sorted(str(p) for p in folder.iterdir() if p.suffix in (".cc", ".c", ".S"))


def compile_objects(folder, work, cxx=CXX):
    objs = []
    for src in sources(folder):
        obj = work / (os.path.basename(src) + ".o")
        subprocess.run([cxx, "-std=c++17", "-O2", "-I", str(folder), "-c", src, "-o", str(obj)], check=True)
        objs.append(obj)
    return objs


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    root = tmp_path_factory.mktemp("contract")
    out = generate(root / "gen", "--name", "multi", "--namespace", "acme::vision")
    objs = compile_objects(out, root)
    return root, out, objs


def test_folder_is_self_contained(lib):
    root, out, _ = lib
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert {"multi.h", "multi.cc", "multi_arena.cc", "multi_weights.S", "multi_weights.bin"} <= set(names)
    assert all(n.startswith("dlcoder_rt/") for n in names if n.endswith(".h") and n != "multi.h")
    # the folder can move: nothing refers to where it was generated
    moved = root / "moved"
    shutil.copytree(out, moved)
    compile_objects(moved, root)


def test_no_flatbuffer_and_no_model_names_in_the_binary(lib):
    _, _, objs = lib
    blob = b"".join(o.read_bytes() for o in objs)
    assert b"TFL3" not in blob
    g = frontend.load(str(MODEL))
    names = {t.name for t in g.tensors if len(t.name) >= 6}
    assert names and not [n for n in names if n.encode() in blob]
    assert b"sensor_left" not in blob


def test_no_heap_and_no_mutable_globals(lib):
    _, _, objs = lib
    undefined = subprocess.run(["nm", "-u", "-C", *map(str, objs)], capture_output=True, text=True).stdout
    for fn in ("malloc", "calloc", "realloc", "free", "operator new", "aligned_alloc", "posix_memalign"):
        assert fn not in undefined, f"generated code calls {fn}"
    for obj in objs:   # the one writable global is the built-in arena, alone in its object
        symbols = subprocess.run(["nm", "-C", str(obj)], capture_output=True, text=True).stdout
        writable = [line for line in symbols.splitlines() if line.split()[1:2] and line.split()[1] in "bBdD"]
        assert writable == [] or (obj.name == "multi_arena.cc.o" and len(writable) == 1 and
                                  "g_arena" in writable[0]), (obj.name, writable)


def _link(out, work, main_source, archive):
    main = work / "main.cc"
    main.write_text(main_source)
    exe = work / "main"
    subprocess.run([CXX, "-std=c++17", "-O2", "-I", str(out), str(main), str(archive), "-o", str(exe)], check=True)
    res = subprocess.run([str(exe)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    symbols = subprocess.run(["nm", "-C", str(exe)], capture_output=True, text=True, check=True).stdout
    return res.stdout, "g_arena" in symbols


def test_built_in_arena_is_linked_only_where_called(lib, tmp_path):
    """A program that passes its own arena carries no static arena; one that calls
    NAME_builtin_arena() links it (README: "The arena")."""
    root, out, objs = lib
    archive = tmp_path / "libmulti.a"
    subprocess.run(["ar", "rcs", str(archive), *map(str, objs)], check=True)
    own, own_linked = _link(out, tmp_path, r'''
#include <cstdio>
#include <cstdlib>
#include "multi.h"
int main() {
  static float x[8 * 8 * 3], y[5];
  static float s[5]; static int ids[1]; static float feat[8 * 8 * 8];
  const void* in[] = {x, y};
  void* outs[] = {s, ids, feat};
  void* a = std::aligned_alloc(64, (multi_arena_size() + 64) / 64 * 64);
  std::printf("%d %d %zu\n", multi_run(in, outs, a), multi_run(in, outs, nullptr), multi_arena_size());
  return 0;
}
''', archive)
    ok, null, arena = (int(v) for v in own.split())
    assert (ok, null) == (0, 3) and arena > 0     # NULL is not an arena
    assert not own_linked
    called, called_linked = _link(out, tmp_path, r'''
#include <cstdio>
#include "multi.h"
int main() {
  static float x[8 * 8 * 3], y[5];
  static float s[5]; static int ids[1]; static float feat[8 * 8 * 8];
  const void* in[] = {x, y};
  void* outs[] = {s, ids, feat};
  std::printf("%d\n", multi_run(in, outs, multi_builtin_arena()));
  return 0;
}
''', archive)
    assert called.split() == ["0"] and called_linked


def test_c_api_and_cpp_class(lib, tmp_path):
    root, out, objs = lib
    main = tmp_path / "main.cc"
    main.write_text(r'''
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include "multi.h"
int main() {
  using Model = acme::vision::multi;
  static_assert(Model::kNumInputs == 2 && Model::kNumOutputs == 3, "io counts");
  if (multi_num_inputs() != 2 || multi_num_outputs() != 3) return 10;
  if (multi_input_size(0) != 8 * 8 * 3 * 4 || multi_input_size(1) != 20 || multi_input_size(2) != 0) return 11;
  if (multi_output_size(0) != 20 || multi_output_size(1) != 4 || multi_output_size(-1) != 0) return 12;
  alignas(64) static unsigned char arena[Model::kArenaBytes];
  Model m(arena);
  for (size_t i = 0; i < Model::kInput0Elements; ++i) m.input_0()[i] = float(i % 7) * 0.25f - 0.5f;
  for (size_t i = 0; i < Model::kInput1Elements; ++i) m.input_1()[i] = float(i) * 0.1f;
  if (m.Run() != 0) return 13;
  // the C API with the built-in arena must give the same bytes
  float scores[5]; int ids[1]; float feat[8 * 8 * 8];
  const void* in[] = {m.input_0(), m.input_1()};
  void* outs[] = {scores, ids, feat};
  if (multi_run(in, outs, multi_builtin_arena()) != 0) return 14;
  if (std::memcmp(scores, m.output_0(), sizeof scores) || std::memcmp(ids, m.output_1(), sizeof ids) ||
      std::memcmp(feat, m.output_2(), sizeof feat)) return 15;
  // a caller arena, and a misaligned one
  void* a = std::aligned_alloc(64, (multi_arena_size() + 64) / 64 * 64);
  if (multi_run(in, outs, a) != 0) return 16;
  if (multi_run(in, outs, static_cast<char*>(a) + 4) != 2) return 17;
  if (multi_run(nullptr, outs, a) != 1) return 18;
  std::printf("ids %d score0 %.4f\n", ids[0], scores[0]);
  return 0;
}
''')
    exe = tmp_path / "main"
    subprocess.run([CXX, "-std=c++17", "-O2", "-I", str(out), str(main), *map(str, objs), "-o", str(exe)],
                   check=True)
    res = subprocess.run([str(exe)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.startswith("ids ")


def test_header_is_valid_c(lib, tmp_path):
    _, out, _ = lib
    src = tmp_path / "use.c"
    src.write_text('#include "multi.h"\nint f(void) { return multi_num_inputs() + (int)multi_arena_size(); }\n')
    subprocess.run(["cc", "-std=c99", "-Wall", "-Werror", "-I", str(out), "-c", str(src),
                    "-o", str(tmp_path / "use.o")], check=True)


def test_output_is_deterministic(tmp_path):
    a = generate(tmp_path / "a", "--name", "m")
    b = generate(tmp_path / "b", "--name", "m")
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_default_name_and_keep_names(tmp_path):
    out = generate(tmp_path / "o")
    assert (out / "multi_io.h").is_file() and "namespace dlcoder" in (out / "multi_io.h").read_text()
    kept = generate(tmp_path / "k", "--keep-names")
    assert "PartitionedCall" in (kept / "multi_io.cc").read_text()


def test_regenerating_replaces_the_folder(tmp_path):
    out = generate(tmp_path / "o", "--name", "first")
    generate(out, "--name", "second")
    assert sorted(p.name for p in out.glob("*.h")) == ["second.h"]


def test_matches_tflite_through_the_c_api(tmp_path):
    g = compiler.load_graph(str(MODEL))
    lib_, g_opt = compiler.compile_graph(g, "m")
    compiler.write_library(lib_, str(tmp_path / "lib"))
    exe = V.build_runner(str(tmp_path / "lib"), "m", str(tmp_path))
    inputs = V.random_inputs(g, seed=5)
    ours, _ = V.run_runner(exe, g_opt, inputs, str(tmp_path))
    refs, _ = V.reference_run(str(MODEL), inputs)
    for k, (o, r) in enumerate(zip(ours, refs)):
        assert V.compare(o, r, k).ok
    assert ours[1].dtype == np.int32


def test_cross_compiled_aarch64_matches_tflite(tmp_path):
    cxx, emulator = aarch64_toolchain()
    g = compiler.load_graph(str(MODEL))
    lib_, g_opt = compiler.compile_graph(g, "m")
    compiler.write_library(lib_, str(tmp_path / "lib"))
    exe = V.build_runner(str(tmp_path / "lib"), "m", str(tmp_path), cxx=cxx)
    with open(exe, "rb") as f:
        header = f.read(20)
    assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == 183  # EM_AARCH64
    inputs = V.random_inputs(g, seed=6)
    ours, _ = V.run_runner(exe, g_opt, inputs, str(tmp_path), emulator=emulator)
    refs, _ = V.reference_run(str(MODEL), inputs)
    for k, (o, r) in enumerate(zip(ours, refs)):
        assert V.compare(o, r, k).ok
