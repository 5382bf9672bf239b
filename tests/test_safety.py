"""Untrusted arguments, through the real CLI: the output folders dlcoder refuses to
replace (and those it accepts), names that would not compile, absurd --input-shape dims,
and the catch-all that turns an internal error into one line and exit code 3."""
import doctest
import importlib
import os
import re
import shutil
import subprocess
import sys

import pytest

from dlcoder import cli, shapes
from dlcoder.codegen import cgen
from dlcoder.outdir import MARKER
from support import ROOT, TESTS

MODEL = TESTS / "models" / "ops" / "transpose_4d_nhwc_to_nchw.tflite"


def run_cli(*args, cwd=None, home=None):
    return subprocess.run([sys.executable, "-m", "dlcoder", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=_env(home))


def run_patched(patch, *args, cwd):
    """The CLI in a subprocess where `patch` (Python source) runs first."""
    code = f"import sys\n{patch}\nfrom dlcoder import cli\nsys.exit(cli.main(sys.argv[1:]))\n"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=_env())


def _env(home=None):
    """This checkout's dlcoder whatever the current folder; HOME replaced if given."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    if home is not None:
        env["HOME"] = str(home)
    return env


def snapshot(folder):
    """Every file and folder under `folder`, with the files' bytes."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() and not p.is_symlink() else None)
            for p in sorted(folder.rglob("*"))}


def one_line_error(res, *words):
    assert res.returncode == 2, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dlcoder: error: "), res.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def work(tmp_path):
    """tmp/work, the current folder of the CLI: a copy of the model and a file of the user's."""
    w = tmp_path / "work"
    w.mkdir()
    shutil.copy(MODEL, w / "m.tflite")
    (w / "notes.txt").write_text("the user's own file\n")
    (w / "sub").mkdir()
    (w / "sub" / "data.bin").write_bytes(b"\x00\x01")
    return w


# --- the output folder -------------------------------------------------------------------

def refusals(tmp_path, work):
    """case -> (flag value, words of the refusal). Each is refused whatever it holds."""
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "main.cc").write_text("int main() {}\n")
    home = tmp_path / "home"
    home.mkdir()
    (home / MARKER).write_text("")            # even a marker does not make home replaceable
    (tmp_path / "to_work").symlink_to(work)
    return {
        "dot": (".", ["is the current folder", "give a new or empty subfolder"]),
        "cwd": (str(work), ["is the current folder"]),
        "symlink_to_cwd": (str(tmp_path / "to_work"), ["is the current folder"]),
        "ancestor": (str(tmp_path), ["is an ancestor of the current folder"]),
        "dotdot": ("..", ["is an ancestor of the current folder"]),
        "root": ("/", ["is the root folder"]),
        "home": (str(home), ["is your home folder"]),
        "model_file": ("m.tflite", ["is a file, not a folder"]),
        "under_a_file": ("notes.txt/x", ["which is a file"]),
        "holds_the_model": (str(tmp_path / "models"), ["contains the model", "give a folder outside"]),
        "foreign": (str(foreign), ["is not empty and was not written by dlcoder", MARKER,
                                   "delete this one first"]),
        "proc": ("/proc/x", ["cannot be written", "/proc"]),
    }


@pytest.mark.parametrize("flag", ["--out-dir", "--test-dir"])
@pytest.mark.parametrize("case", ["dot", "cwd", "symlink_to_cwd", "ancestor", "dotdot", "root", "home",
                                  "model_file", "under_a_file", "holds_the_model", "foreign", "proc"])
def test_refused_folders_exit_2_and_touch_nothing(flag, case, tmp_path, work):
    value, words = refusals(tmp_path, work)[case]
    model = tmp_path / "models" / "a" / "b" / "m.tflite"     # inside the folder of holds_the_model
    model.parent.mkdir(parents=True)
    shutil.copy(MODEL, model)
    # for --test-dir, --out-dir is a fine new folder, which must not appear either
    args = ["--out-dir", value] if flag == "--out-dir" else ["--out-dir", tmp_path / "new_out",
                                                             "--test-dir", value]
    before = snapshot(tmp_path)
    res = run_cli("generate", model, *args, cwd=work, home=tmp_path / "home")
    one_line_error(res, f"{flag} '{value}'", *words)
    assert "Traceback" not in res.stderr
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("out,test,words", [
    ("lib", "lib", "--test-dir 'lib' is the same folder as --out-dir"),
    ("lib", "lib/t", "--test-dir 'lib/t' is inside --out-dir"),
    ("lib/o", "lib", "--test-dir 'lib' contains --out-dir"),
])
def test_test_dir_apart_from_out_dir(out, test, words, work):
    res = run_cli("generate", "m.tflite", "--out-dir", out, "--test-dir", test, cwd=work)
    one_line_error(res, words, "give two separate folders")
    assert not (work / "lib").exists()


def test_accepted_folders_get_the_marker_and_are_replaced(tmp_path, work):
    empty, hollow = tmp_path / "empty", tmp_path / "hollow"
    empty.mkdir()
    # empty folders only: what Bazel without a sandbox leaves once it deleted the old outputs
    (hollow / "dlcoder_rt").mkdir(parents=True)
    res = run_cli("generate", "m.tflite", "--out-dir", empty, "--test-dir", hollow, cwd=work)
    assert res.returncode == 0, res.stderr
    assert (empty / MARKER).is_file() and (hollow / MARKER).is_file() and (hollow / "m_test.cc").is_file()
    # a folder from a previous run is replaced as a whole
    (empty / "stale.h").write_text("// left over\n")
    res = run_cli("generate", "m.tflite", "--out-dir", empty, "--name", "second", cwd=work)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in empty.iterdir()) == sorted(
        [MARKER, "dlcoder_rt", "second.cc", "second.h", "second_arena.cc", "second_weights.S", "second_weights.bin"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no temporary folders
    # the same model and flags: the same files, byte for byte, marker included
    again = tmp_path / "again"
    assert run_cli("generate", "m.tflite", "--out-dir", again, "--name", "second", cwd=work).returncode == 0
    assert snapshot(again) == snapshot(empty)


def test_unwritable_output_folder_is_a_user_error(tmp_path, work):
    """An OSError while writing (here a read-only file system at the swap) names the folder."""
    patch = ("import errno, os\n"
             "def rename(a, b): raise OSError(errno.EROFS, 'Read-only file system', str(b))\n"
             "os.rename = rename")
    res = run_patched(patch, "generate", "m.tflite", "--out-dir", "lib", cwd=work)
    one_line_error(res, "cannot write 'lib'", "Read-only file system")
    assert not (work / "lib").exists() and not [p for p in work.iterdir() if p.name.startswith(".")]


# --- names ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name,rule", [
    ("NULL", "is a standard C macro"),
    ("errno", "is a standard C macro"),
    ("INT_MAX", "is a standard C macro"),
    ("linux", "is a macro that compilers predefine"),
    ("class", "is a C++ keyword"),
    ("bitor", "is a C++ keyword (an alternative token)"),
    ("int", "is a C and C++ keyword"),
    ("restrict", "is a C keyword"),
    ("__x", "is reserved (double underscore)"),
    ("a__b", "is reserved (double underscore)"),
    ("_X", "is reserved (underscore and capital letter)"),
    ("_x", "is reserved (leading underscore at global scope)"),
    ("size_t", "is a standard C type"),
    ("main", "is the program's entry point"),
    ("std", "is the C++ standard library's namespace"),
    ("dlcoder_rt", "is the namespace of dlcoder's runtime"),
    ("dlcoder_parallel_for", "is a type that the generated header declares"),
    ("Run", "is a member of the generated class"),
    ("input", "is a member of the generated class"),
    ("kArenaBytes", "is a member of the generated class"),
    ("output_0", "is a member of the generated class"),
    ("m_", "ends with an underscore"),
    ("math", "would name the header math.h, which hides the system's <math.h>"),
    ("3x", "is not a C identifier"),
])
def test_bad_name_says_which_rule(name, rule, tmp_path):
    res = run_cli("generate", MODEL, "--out-dir", tmp_path / "o", "--name", name)
    one_line_error(res, f"--name '{name}' {rule}")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("namespace,rule", [
    ("a::class", "'class' is a C++ keyword"),
    ("_a::b", "'_a' is reserved (leading underscore at global scope)"),
    ("a::_B", "'_B' is reserved (underscore and capital letter)"),
    ("dlcoder_rt", "'dlcoder_rt' is the namespace of dlcoder's runtime"),
    ("a::NULL", "'NULL' is a standard C macro"),
    ("a::::b", "'' is not a C identifier"),
])
def test_bad_namespace_says_which_rule(namespace, rule, tmp_path):
    res = run_cli("generate", MODEL, "--out-dir", tmp_path / "o", "--namespace", namespace)
    one_line_error(res, f"--namespace '{namespace}' is not a C++ namespace: {rule}")


def test_near_misses_compile(tmp_path):
    """Names next to the rules are accepted, and the header compiles with each of them: an
    inner namespace part may start with '_', a namespace may be called math or Run."""
    for name, ns in [("arena", "a::_b"), ("run", "math::Run"), ("Input", "dlcoder")]:
        out = tmp_path / name
        res = run_cli("generate", MODEL, "--out-dir", out, "--name", name, "--namespace", ns)
        assert res.returncode == 0, res.stderr
        main = tmp_path / f"{name}_main.cc"
        main.write_text(f'#include <cstdio>\n#include <cmath>\n#include "{name}.h"\n'
                        f"int main() {{ return {ns}::{name}::kNumInputs - 1; }}\n")
        subprocess.run(["c++", "-std=gnu++17", "-fsyntax-only", "-I", str(out), str(main)], check=True)


@pytest.mark.parametrize("stem,name", [("NULL", "NULL_model"), ("class", "class_model"),
                                       ("Run", "Run_model"), ("__init__", "init")])
def test_default_name_from_a_rejected_stem(stem, name, tmp_path):
    shutil.copy(MODEL, tmp_path / f"{stem}.tflite")
    res = run_cli("generate", tmp_path / f"{stem}.tflite", "--out-dir", tmp_path / "o")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "o" / f"{name}.h").is_file()


def test_member_list_matches_the_generated_header(tmp_path):
    """Every member the generated class declares is a refused --name (cgen's list is a copy
    of model.h.j2's)."""
    assert run_cli("generate", MODEL, "--out-dir", tmp_path / "o", "--name", "m").returncode == 0
    header = (tmp_path / "o" / "m.h").read_text()
    body = header[header.index("class m {"):header.index("};\n\n}  // namespace")]
    members = set(re.findall(r"static constexpr \w+ (\w+)", body))
    members |= set(re.findall(r"\b(\w+)\([^()]*\)(?: const)? \{", body)) - {"m"}
    members |= set(re.findall(r"^\s+[\w* ]+ (\w+);$", body, re.M))
    assert {"Run", "input", "output_0", "kArenaBytes", "ArenaBytes", "arena_"} <= members
    assert not [m for m in members if cgen.class_name_problem(m) is None]


# --- --input-shape -------------------------------------------------------------------------

@pytest.mark.parametrize("arg,words", [
    ("N=99999999999999999999x1", "dimension 99999999999999999999 is past 2**31-1"),
    ("x=2147483648x1", "dimension 2147483648 is past 2**31-1"),
    ("=1x4", "has an empty input name"),
])
def test_absurd_input_shape(arg, words, tmp_path):
    res = run_cli("generate", MODEL, "--out-dir", tmp_path / "o", "--input-shape", arg)
    one_line_error(res, words)
    assert "Traceback" not in res.stderr


# --- the catch-all -------------------------------------------------------------------------

BOOM = "def boom(*a, **k):\n    raise {}\n"


@pytest.mark.parametrize("target,error,words", [
    ("dlcoder.compiler.compile_graph", "RuntimeError('boom\\nsecond line')",
     "dlcoder: internal error in generate: RuntimeError: boom second line; please report it with "
     "the model"),
    ("dlcoder.passes.pipeline._run", "KeyError('x')", "internal error in passes: KeyError: 'x'"),
    ("dlcoder.codegen.emitter._io_entries", "ValueError()", "internal error in code generation: ValueError;"),
    ("dlcoder.frontend.tflite.parse", "IndexError('i')", "internal error in reading the model: IndexError: i"),
    ("dlcoder.passes.pipeline._run", "RecursionError('deep')", "internal error in passes: recursion too deep"),
    ("dlcoder.passes.pipeline._run", "MemoryError()", "dlcoder: error: out of memory in passes"),
])
def test_internal_error_is_one_line_and_exit_3(target, error, words, tmp_path):
    module, attr = target.rsplit(".", 1)
    patch = f"import {module}\n{BOOM.format(error)}{module}.{attr} = boom"
    res = run_patched(patch, "generate", MODEL, "--out-dir", tmp_path / "o", cwd=tmp_path)
    assert res.returncode == 3, res.stderr
    assert res.stderr.count("\n") == 1 and words in res.stderr, res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "o").exists()


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback(where, tmp_path):
    patch = "import dlcoder.passes.pipeline as P\n" + BOOM.format("RuntimeError('boom')") + "P._run = boom"
    args = ["generate", MODEL, "--out-dir", tmp_path / "o"]
    args = ["--debug", *args] if where == "before" else [*args, "--debug"]
    res = run_patched(patch, *args, cwd=tmp_path)
    assert res.returncode not in (0, 2, 3)
    assert "Traceback" in res.stderr and "RuntimeError: boom" in res.stderr


def test_interrupt_is_130(tmp_path):
    patch = "import dlcoder.passes.pipeline as P\n" + BOOM.format("KeyboardInterrupt") + "P._run = boom"
    res = run_patched(patch, "generate", MODEL, "--out-dir", tmp_path / "o", cwd=tmp_path)
    assert res.returncode == 130 and "Traceback" not in res.stderr


def test_every_phase_names_code_that_exists():
    """cli.PHASES reads the phase off the traceback by module and function name: a rename
    must not silently turn a phase into the fallback."""
    for prefix, _ in cli.PHASES:
        module, _, func = prefix.rpartition(".")
        mod = importlib.import_module(module)
        assert not func or any(name.startswith(func) for name in vars(mod)), prefix


def test_doctests_of_the_rules():
    for module in (cgen, shapes):
        assert doctest.testmod(module).failed == 0, module.__name__
