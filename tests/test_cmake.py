"""CMake integration (issue 4), tested with real cmake builds.

- examples/cmake (a copy, so the model can be changed) with Ninja and with Unix Makefiles:
  configure, build, ctest; a no-op build does nothing; a changed model is regenerated and
  rebuilt, and the program's output changes.
- The same example cross-compiled with toolchains/aarch64-linux-gnu.cmake, ctest under qemu.
- The package from outside the repo: `pip install .` into a fresh venv, then a user project
  that never saw its model (mobilenet_v1_025_f32 from the shared models) builds and passes
  its test against TFLite on the host and on aarch64.
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
TOOLCHAIN = ROOT / "toolchains" / "aarch64-linux-gnu.cmake"
OUTSIDE_MODEL = SHARED_MODELS / "mobilenet_v1_025_f32.tflite"
TOOLS = {"cmake": "cmake", "ninja": "ninja-build", "make": "make", "c++": "g++",
         "aarch64-linux-gnu-g++": "g++-aarch64-linux-gnu", "qemu-aarch64": "qemu-user"}


def _env(**extra) -> dict:
    """The environment of cmake and the venv: no DLCODER_PYTHON or PYTHONPATH from outside,
    so the tests see how the package finds its interpreter by itself."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DLCODER_PYTHON", "PYTHONPATH", "CMAKE_GENERATOR")}
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


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A snapshot of the repo's package (a source checkout: dlcoder is not installed), so
    that edits to the working tree during the run do not regenerate the build trees, and
    the interpreter record is not written into the working tree."""
    root = tmp_path_factory.mktemp("checkout")
    shutil.copytree(ROOT / "dlcoder", root / "dlcoder",
                    ignore=shutil.ignore_patterns("__pycache__", "python-executable.txt"))
    for name in ("pyproject.toml", "README.md"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, root)
    return root


@pytest.fixture(scope="module")
def repo_cmake_dir(checkout) -> str:
    folder = _cmake_dir(sys.executable, checkout)
    assert Path(folder) == checkout / "dlcoder" / "cmake"
    assert (Path(folder) / "python-executable.txt").read_text().strip() == sys.executable
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
def aarch64(tmp_path_factory, repo_cmake_dir) -> Build:
    return _example_build(tmp_path_factory, repo_cmake_dir, "Ninja", TOOLCHAIN)


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


@pytest.fixture(scope="module")
def venv(tmp_path_factory, checkout, repo_cmake_dir):
    """A fresh venv with dlcoder pip-installed from the snapshot (which holds a recorded
    interpreter by now: the wheel must leave it out). System site-packages provide numpy,
    tflite, ..."""
    if not OUTSIDE_MODEL.exists():
        print(f"skipping the outside-the-repo build: {OUTSIDE_MODEL} is absent")
        pytest.skip(f"{OUTSIDE_MODEL} is absent")
    work = tmp_path_factory.mktemp("venv")
    env_dir = work / "env"
    run([sys.executable, "-m", "venv", "--system-site-packages", env_dir])
    python = env_dir / "bin" / "python"
    run([python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
         "--quiet", checkout], cwd=work)
    site = Path(run([python, "-c", "import dlcoder; print(dlcoder.__file__)"],
                    cwd=work).stdout.strip())
    assert env_dir in site.parents
    assert not (site.parent / "cmake" / "python-executable.txt").exists()
    folder = Path(_cmake_dir(python, work))
    assert env_dir in folder.parents, f"--cmake-dir printed {folder}, not inside {env_dir}"
    assert (folder / "DLCoderConfigVersion.cmake").exists()
    return python, folder


@pytest.fixture(scope="module")
def outside_project(tmp_path_factory):
    src = tmp_path_factory.mktemp("outside") / "src"
    src.mkdir()
    shutil.copy(OUTSIDE_MODEL, src / "mobilenet.tflite")
    (src / "CMakeLists.txt").write_text(OUTSIDE_PROJECT)
    (src / "main.cc").write_text(OUTSIDE_MAIN)
    return src


@pytest.mark.parametrize("generator, toolchain", [("Ninja", None),
                                                  ("Unix Makefiles", TOOLCHAIN)],
                         ids=["host", "aarch64"])
def test_installed_package_builds_an_unseen_model(venv, outside_project, generator, toolchain):
    python, folder = venv
    tree = outside_project.parent / f"build-{generator.split()[0]}"
    b = Build(outside_project, tree, str(folder), generator, toolchain)
    assert f"the generator runs with {python}" in b.configure_output
    out = b.build()
    assert "dlcoder: generating mobilenet from mobilenet.tflite" in out, out
    # The installed package imports by itself: no PYTHONPATH.
    assert "PYTHONPATH" not in (tree / "_dlcoder" / "generator.stamp").read_text()
    out = b.ctest()
    assert "PASS" in out and "100% tests passed" in out, out
    if toolchain:
        assert "qemu-aarch64" in out
    b.assert_nothing_to_do()
    # A changed generator (here: a reinstalled file) regenerates the library.
    os.utime(folder.parent / "codegen" / "emitter.py")
    assert "dlcoder: generating mobilenet from" in b.build()
    b.assert_nothing_to_do()


def test_installed_package_derives_its_interpreter(venv, tmp_path):
    # Without the record (read-only site-packages), the config finds <prefix>/bin/python3.
    python, folder = venv
    (folder / "python-executable.txt").unlink()
    try:
        res = _configure_only(tmp_path, folder, "find_package(DLCoder REQUIRED)\n")
        assert f"the generator runs with {python.parent / 'python3'}" in res.stdout, res.stdout
    finally:
        _cmake_dir(python, tmp_path)
