"""CMake integration (issue 4), tested with real cmake builds.

- examples/cmake (a copy, so the model can be changed) with Ninja and with Unix Makefiles:
  configure, build, ctest; a no-op build does nothing; a changed model is regenerated and
  rebuilt, and the program's output changes.
- The same example cross-compiled with toolchains/aarch64-linux-gnu.cmake, ctest under qemu.
  The source checkout finds its interpreter through CMake's FindPython.
- The package from outside the repo: `pip install '.[reference]'` into a fresh venv (its
  dependencies from PyPI or pip's cache), then a user project that never saw its model
  (mobilenet_v1_025_f32 from the shared models) builds and passes its test against TFLite on
  the host and on aarch64, the latter with the toolchain file the wheel ships. Neither
  `--cmake-dir` nor the builds write into the installed package.
- Configure-only checks: the version file, DLCODER_PYTHON, argument errors.

Everything runs on a snapshot of the package, in temporary folders. Build trees are
module-scoped fixtures, built once and shared by the checks that follow.
Needs cmake >= 3.20, ninja, make, g++, g++-aarch64-linux-gnu and qemu-user.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tflite

import dlcoder
from support import ROOT, SHARED_MODELS

# one worker builds the module's shared trees (pytest -n 2 --dist loadgroup)
pytestmark = pytest.mark.xdist_group("cmake")

EXAMPLE = ROOT / "examples" / "cmake"
OUTSIDE_MODEL = SHARED_MODELS / "mobilenet_v1_025_f32.tflite"
TOOLS = {"cmake": "cmake", "ninja": "ninja-build", "make": "make", "c++": "g++",
         "aarch64-linux-gnu-g++": "g++-aarch64-linux-gnu", "qemu-aarch64": "qemu-user"}


def _env(**extra) -> dict:
    """The environment of cmake and the venv: no DLCODER_PYTHON, PYTHONPATH or active
    virtual environment from outside, so the tests see how the package finds its interpreter
    by itself. For a source checkout that is CMake's FindPython, pointed here at the
    interpreter running the tests (Python3_ROOT_DIR), which has dlcoder's dependencies."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DLCODER_PYTHON", "PYTHONPATH", "CMAKE_GENERATOR", "VIRTUAL_ENV",
                        "CONDA_PREFIX")}
    env["Python3_ROOT_DIR"] = sys.prefix
    env.update(extra)
    return env


def run(cmd, cwd=None, env=None, ok=True) -> subprocess.CompletedProcess:
    res = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env or _env(),
                         capture_output=True, text=True)
    if ok and res.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))} failed ({res.returncode}):\n"
                    f"{res.stdout[-4000:]}\n{res.stderr[-4000:]}")
    return res


@pytest.fixture(scope="module", autouse=True)
def _tools():
    missing = [f"{tool} (apt-get install {pkg})" for tool, pkg in TOOLS.items()
               if shutil.which(tool) is None]
    if missing:
        pytest.fail("test_cmake.py needs " + ", ".join(missing))


class Build:
    """One configured build tree of the CMake project in `src`."""

    def __init__(self, src: Path, tree: Path, dlcoder_dir: str, generator: str,
                 toolchain: Path | None = None, env: dict | None = None):
        self.src, self.tree, self.generator, self.env = src, tree, generator, env or _env()
        cmd = ["cmake", "-S", src, "-B", tree, "-G", generator, f"-DDLCoder_DIR={dlcoder_dir}"]
        if toolchain:
            cmd.append(f"-DCMAKE_TOOLCHAIN_FILE={toolchain}")
        self.configure_output = run(cmd, env=self.env).stdout

    def build(self) -> str:
        return run(["cmake", "--build", self.tree, "-j", "2"], env=self.env).stdout

    def ctest(self) -> str:
        return run(["ctest", "--test-dir", self.tree, "-j", "2", "-V", "--output-on-failure"],
                   env=self.env).stdout

    def assert_nothing_to_do(self):
        out = self.build()
        if self.generator == "Ninja":
            explain = run(["ninja", "-C", self.tree, "-n", "-d", "explain"], env=self.env)
            assert "ninja: no work to do." in out, out + explain.stderr
        else:
            busy = [line for line in out.splitlines()
                    if any(w in line for w in ("dlcoder:", "Building", "Linking", "Generating"))]
            assert not busy, out


def _cmake_dir(python, cwd) -> str:
    return run([python, "-m", "dlcoder", "--cmake-dir"], cwd=cwd).stdout.strip()


def _files(folder: Path) -> set[Path]:
    """Every file under folder, compiled bytecode aside (Python may rewrite it any time)."""
    return {p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A snapshot of the repo's package and of what installing it needs (a source checkout:
    dlcoder is not installed), so that edits to the working tree during the run do not
    regenerate the build trees."""
    root = tmp_path_factory.mktemp("checkout")
    shutil.copytree(ROOT / "dlcoder", root / "dlcoder",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE", "toolchains/aarch64-linux-gnu.cmake"):
        (root / name).parent.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, root / name)
    return root


@pytest.fixture(scope="module")
def repo_cmake_dir(checkout) -> str:
    before = _files(checkout)
    folder = _cmake_dir(sys.executable, checkout)
    assert Path(folder) == checkout / "dlcoder" / "cmake"
    assert _files(checkout) == before, "--cmake-dir wrote into the checkout"
    return folder


def _example_build(tmp_path_factory, repo_cmake_dir, generator, toolchain=None) -> Build:
    work = tmp_path_factory.mktemp("example")
    src = work / "src"
    shutil.copytree(EXAMPLE, src)
    b = Build(src, work / "build", repo_cmake_dir, generator, toolchain)
    b.first_output = b.build()
    return b


@pytest.fixture(scope="module", params=["Ninja", "Unix Makefiles"])
def host(request, tmp_path_factory, repo_cmake_dir) -> Build:
    return _example_build(tmp_path_factory, repo_cmake_dir, request.param)


@pytest.fixture(scope="module")
def aarch64(tmp_path_factory, checkout, repo_cmake_dir) -> Build:
    # the checkout's toolchains/ file, which forwards to the one in the package
    return _example_build(tmp_path_factory, repo_cmake_dir, "Ninja",
                          checkout / "toolchains" / "aarch64-linux-gnu.cmake")


def _classify(b: Build, emulator=()) -> list[float]:
    out = run([*emulator, b.tree / "classify"]).stdout
    scores = [float(line.split(":")[1]) for line in out.splitlines() if line.startswith("class ")]
    assert len(scores) == 10 and "top class: " in out, out
    return scores


def _negate_largest_buffer(model: Path) -> None:
    """Change the model's weights in place: negate its largest float32 buffer."""
    data = bytearray(model.read_bytes())
    m = tflite.Model.GetRootAsModel(data, 0)
    buffers = [m.Buffers(i) for i in range(m.BuffersLength())]
    old = max((b for b in buffers if b.DataLength()), key=lambda b: b.DataLength())
    old = old.DataAsNumpy().tobytes()
    start = data.find(old)
    data[start:start + len(old)] = (-np.frombuffer(old, dtype=np.float32)).tobytes()
    model.write_bytes(data)


def test_host_build_and_ctest(host):
    assert "dlcoder: generating lenet5 from lenet5.tflite" in host.first_output
    # a source checkout: FindPython's interpreter, with the checkout on PYTHONPATH
    found = re.search(r"the generator runs with (\S+)", host.configure_output)
    assert found and Path(found[1]).parent == Path(sys.prefix) / "bin", host.configure_output
    assert "PYTHONPATH" in (host.tree / "_dlcoder" / "generator.stamp").read_text()
    out = host.ctest()
    assert "lenet5_test" in out and "classify" in out and "100% tests passed" in out, out
    assert "PASS" in out
    _classify(host)


def test_benchmark_runs_with_a_thread_pool(host):
    run(["cmake", "--build", host.tree, "--target", "lenet5_benchmark"], env=host.env)
    out = run([str(Path(host.tree) / "lenet5_benchmark"), "5", "2"], env=host.env).stdout
    assert re.search(r"^threads: 2$", out, re.M) and re.search(r"^latency_median_us: [0-9.]+$", out, re.M), out


def test_noop_build_does_nothing(host):
    host.assert_nothing_to_do()
    run(["cmake", host.tree], env=host.env)  # reconfiguring alone regenerates nothing either
    host.assert_nothing_to_do()


def test_new_weights_bin_rebuilds_its_object(host):
    # The .S file .incbin's the .bin, which the compiler's depfile does not list.
    weights = host.tree / "_dlcoder" / "lenet5" / "lib" / "lenet5_weights.bin"
    os.utime(weights)
    out = host.build()
    assert "lenet5_weights.S.o" in out and "lenet5.cc.o" not in out, out


def test_changed_model_is_regenerated(host):
    before = _classify(host)
    _negate_largest_buffer(host.src / "lenet5.tflite")
    out = host.build()
    for step in ("dlcoder: generating lenet5 from", "dlcoder: generating lenet5_test",
                 "lenet5.cc.o", "lenet5_weights.S.o", "lenet5_test_data.S.o"):
        assert step in out, out
    assert _classify(host) != before
    assert "100% tests passed" in host.ctest()  # the expected outputs were regenerated too
    host.assert_nothing_to_do()


def _elf_machine(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[18:20], "little")


def test_aarch64_build_and_ctest_under_qemu(aarch64):
    assert _elf_machine(aarch64.tree / "classify") == 183  # EM_AARCH64
    out = aarch64.ctest()
    assert "qemu-aarch64" in out and "100% tests passed" in out, out
    scores = _classify(aarch64, ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"])
    assert all(0.0 <= s <= 1.0 for s in scores)  # softmax probabilities
    aarch64.assert_nothing_to_do()


# ---- configure-only checks --------------------------------------------------------------

def _flat(text: str) -> str:
    """CMake wraps messages; compare with single spaces."""
    return " ".join(text.split())


def _configure_only(tmp_path, repo_cmake_dir, body: str, env=None, ok=True):
    src = tmp_path / "src"
    src.mkdir(parents=True)
    shutil.copy(EXAMPLE / "lenet5.tflite", src)
    (src / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.20)\nproject(probe CXX)\n" + body)
    return run(["cmake", "-S", src, "-B", tmp_path / "build", "-G", "Ninja",
                f"-DDLCoder_DIR={repo_cmake_dir}"], env=env, ok=ok)


def test_version_file_follows_the_package(tmp_path, repo_cmake_dir):
    out = _configure_only(tmp_path, repo_cmake_dir,
                          f"find_package(DLCoder {dlcoder.__version__} EXACT REQUIRED)\n"
                          'message(STATUS "version=${DLCoder_VERSION}")\n').stdout
    assert f"version={dlcoder.__version__}" in out
    major = int(dlcoder.__version__.split(".")[0])
    res = _configure_only(tmp_path / "newer", repo_cmake_dir,
                          f"find_package(DLCoder {major + 1} REQUIRED)\n", ok=False)
    assert res.returncode != 0, res.stdout
    assert f"version: {dlcoder.__version__}" in _flat(res.stderr), res.stderr


def test_dlcoder_python_is_honoured(tmp_path, repo_cmake_dir):
    body = "find_package(DLCoder REQUIRED)\n"
    res = _configure_only(tmp_path / "env", repo_cmake_dir, body,
                          env=_env(DLCODER_PYTHON=sys.executable))
    assert f"the generator runs with {sys.executable}" in res.stdout
    res = _configure_only(tmp_path / "bad", repo_cmake_dir, body,
                          env=_env(DLCODER_PYTHON="/nonexistent/python3"), ok=False)
    assert res.returncode != 0
    assert "/nonexistent/python3: does not exist" in _flat(res.stderr), res.stderr
    assert "DLCODER_PYTHON" in res.stderr


@pytest.mark.parametrize("call, message", [
    ("dlcoder_add_library(my-net MODEL lenet5.tflite)", "add NAME my_net"),
    ("dlcoder_add_library(net MODEL missing.tflite)", "missing.tflite does not exist"),
    ("dlcoder_add_library(net MODEL lenet5.tflite INPUT_SHAPES image=1,28,28,1)",
     "INPUT_SHAPES entry"),
    ("dlcoder_add_test(net)", "call dlcoder_add_library(net ...) first"),
])
def test_argument_errors_name_the_fix(tmp_path, repo_cmake_dir, call, message):
    res = _configure_only(tmp_path, repo_cmake_dir, f"find_package(DLCoder REQUIRED)\n{call}\n",
                          ok=False)
    assert res.returncode != 0 and message in _flat(res.stderr), res.stderr


# ---- the installed package, from outside the repo ---------------------------------------

OUTSIDE_PROJECT = """\
cmake_minimum_required(VERSION 3.20)
project(outside CXX)
enable_testing()
find_package(DLCoder REQUIRED)
dlcoder_add_library(mobilenet MODEL mobilenet.tflite NAMESPACE outside::nets
                    INPUT_SHAPES serving_default_image:0=1x128x128x3)
dlcoder_add_test(mobilenet)
add_executable(app main.cc)
target_link_libraries(app PRIVATE mobilenet)
add_test(NAME app COMMAND app)
"""

OUTSIDE_MAIN = """\
#include <cstdio>

#include "mobilenet.h"

int main() {
  using Net = outside::nets::mobilenet;
  alignas(64) static unsigned char arena[Net::kArenaBytes];
  Net net(arena);
  for (size_t i = 0; i < Net::kInput0Elements; ++i) net.input_0()[i] = 0.5f;
  if (net.Run() != 0) return 1;
  std::printf("logit 0: %f\\n", net.output_0()[0]);
  return 0;
}
"""


class Venv:
    """A fresh venv (no system site-packages) with dlcoder pip-installed from the snapshot."""

    def __init__(self, root: Path, checkout: Path):
        run([sys.executable, "-m", "venv", root])
        # The prefix's interpreter, which DLCoderConfig.cmake derives from where it lies.
        self.python = root / "bin" / "python3"
        # Build isolation: pip brings the setuptools pyproject.toml asks for (PyPI or cache).
        run([self.python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             f"{checkout}[reference]"], cwd=root)
        self.package = Path(run([self.python, "-c", "import dlcoder; print(dlcoder.__file__)"],
                                cwd=root).stdout.strip()).parent
        assert root in self.package.parents
        self.files = _files(self.package)
        self.cmake_dir = Path(_cmake_dir(self.python, root))

    def assert_untouched(self):
        """Nothing appeared in or vanished from the installed package (`pip uninstall`
        removes exactly what pip installed)."""
        assert _files(self.package) == self.files


@pytest.fixture(scope="module")
def venv(tmp_path_factory, checkout) -> Venv:
    if not OUTSIDE_MODEL.exists():
        print(f"skipping the outside-the-repo build: {OUTSIDE_MODEL} is absent")
        pytest.skip(f"{OUTSIDE_MODEL} is absent")
    v = Venv(tmp_path_factory.mktemp("venv") / "env", checkout)
    assert v.cmake_dir == v.package / "cmake", f"--cmake-dir printed {v.cmake_dir}"
    assert (v.cmake_dir / "DLCoderConfigVersion.cmake").exists()
    v.assert_untouched()
    return v


@pytest.fixture(scope="module")
def outside_project(tmp_path_factory):
    src = tmp_path_factory.mktemp("outside") / "src"
    src.mkdir()
    shutil.copy(OUTSIDE_MODEL, src / "mobilenet.tflite")
    (src / "CMakeLists.txt").write_text(OUTSIDE_PROJECT)
    (src / "main.cc").write_text(OUTSIDE_MAIN)
    return src


@pytest.mark.parametrize("generator, cross", [("Ninja", False), ("Unix Makefiles", True)],
                         ids=["host", "aarch64"])
def test_installed_package_builds_an_unseen_model(venv, outside_project, generator, cross):
    tree = outside_project.parent / f"build-{generator.split()[0]}"
    # the toolchain file the wheel ships beside the config
    toolchain = venv.cmake_dir / "toolchains" / "aarch64-linux-gnu.cmake" if cross else None
    b = Build(outside_project, tree, str(venv.cmake_dir), generator, toolchain)
    assert f"the generator runs with {venv.python}" in b.configure_output
    # The prefix's interpreter worked: FindPython was not needed, the project's cache
    # holds no Python3 entries of ours.
    assert "Python3" not in (tree / "CMakeCache.txt").read_text()
    out = b.build()
    assert "dlcoder: generating mobilenet from mobilenet.tflite" in out, out
    # The installed package imports by itself: no PYTHONPATH.
    assert "PYTHONPATH" not in (tree / "_dlcoder" / "generator.stamp").read_text()
    out = b.ctest()
    assert "PASS" in out and "100% tests passed" in out, out
    if cross:
        assert "qemu-aarch64" in out
        assert _elf_machine(tree / "app") == 183  # EM_AARCH64
    b.assert_nothing_to_do()
    # A changed generator (here: a reinstalled file) regenerates the library.
    os.utime(venv.package / "codegen" / "emitter.py")
    assert "dlcoder: generating mobilenet from" in b.build()
    b.assert_nothing_to_do()
    venv.assert_untouched()


def test_cmake_dir_writes_nothing_into_the_installed_package(venv, tmp_path):
    # Once `--cmake-dir` recorded its interpreter there, and `pip uninstall` left the record
    # behind: `import dlcoder` then still succeeded, as an empty namespace package.
    assert Path(_cmake_dir(venv.python, tmp_path)) == venv.cmake_dir
    res = _configure_only(tmp_path, venv.cmake_dir, "find_package(DLCoder REQUIRED)\n")
    assert f"the generator runs with {venv.python}" in res.stdout, res.stdout
    venv.assert_untouched()


# ---- custom ops (examples/custom_op) ----------------------------------------------------

def _custom_op_outputs(b: Build) -> np.ndarray:
    return np.array(run([b.tree / "my_op_demo"]).stdout.split(), dtype=np.float32)


def test_custom_op_library_matches_tflite_and_regenerates(tmp_path, repo_cmake_dir):
    """CUSTOM_OPS ops.py: the library matches TFLite on the same graph without the custom
    op; editing the kernel header, then the plug-in, regenerates it."""
    from dlcoder import verify as V
    src = tmp_path / "src"
    shutil.copytree(ROOT / "examples" / "custom_op", src)
    b = Build(src, tmp_path / "build", repo_cmake_dir, "Ninja")
    assert "dlcoder: generating my_op from my_op.tflite" in b.build()
    x = ((np.arange(256) % 17 - 8) / 4).astype(np.float32).reshape(1, 8, 8, 4)
    ref = V.reference_run(str(src / "reference.tflite"), [x])[0][0].ravel()
    ours = _custom_op_outputs(b)
    assert V.compare(ours, ref).ok, (ours[:8], ref[:8])
    b.assert_nothing_to_do()

    kernel = src / "my_op_kernel.h"
    kernel.write_text(kernel.read_text().replace("y[i] = p.scale * v;", "y[i] = p.scale * v + 1.0f;"))
    assert "dlcoder: generating my_op" in b.build()
    np.testing.assert_array_equal(_custom_op_outputs(b), ours + np.float32(1))

    plugin = src / "ops.py"
    plugin.write_text(plugin.read_text().replace('header="my_op_kernel.h"', 'header="other.h"'))
    (src / "other.h").write_text(kernel.read_text().replace("+ 1.0f", "+ 2.0f"))
    assert "dlcoder: generating my_op" in b.build()
    np.testing.assert_array_equal(_custom_op_outputs(b), ours + np.float32(2))
    b.assert_nothing_to_do()
