"""Packaging (issue 17): README.md's first command works in a fresh venv, and the installed
package holds what README.md promises.

A venv made with `python -m venv` (no system site-packages, so nothing leaks in from the
interpreter running the tests) runs README.md's first command as written, in a copy of the
repo: `pip install '.[test]'`, whose build isolation brings the setuptools that
pyproject.toml asks for, then `dlcoder generate`, and `dlcoder verify`, which compiles the
generated library and compares it with TFLite. Then, on that install:
- the CMake toolchain file lies beside DLCoderConfig.cmake, and the license in the metadata;
- `dlcoder --version` names the version;
- the wheel also builds with the oldest setuptools release series that pyproject.toml's
  build-system admits;
- `--cmake-dir` writes nothing into the package, and `pip uninstall` leaves none of it
  behind (the last test: it removes the package).
Needs PyPI, or a pip cache that holds the dependencies; about 30 s with the cache filled.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import dlcoder
from support import ROOT

# one worker, in file order: the last test uninstalls the package (pytest -n 2 --dist loadgroup)
pytestmark = pytest.mark.xdist_group("packaging")

# What `pip install .` and the README command read from the repo.
REPO_FILES = ("dlcoder", "pyproject.toml", "README.md", "LICENSE", "examples")
TOOLCHAIN = Path("cmake") / "toolchains" / "aarch64-linux-gnu.cmake"


def readme_install_command() -> str:
    """The first line of README.md's first code block: install, generate, verify."""
    block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    line = block[1].splitlines()[0]
    assert line.startswith("pip install '.[test]'"), line
    return line


class Venv:
    """A fresh venv used as after `source bin/activate`: its bin/ first on the PATH."""

    def __init__(self, root: Path):
        self.root = root
        subprocess.run([sys.executable, "-m", "venv", root], check=True)
        self.python = root / "bin" / "python"
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("PYTHONPATH", "DLCODER_PYTHON", "CONDA_PREFIX")}
        self.env.update(VIRTUAL_ENV=str(root), PIP_DISABLE_PIP_VERSION_CHECK="1",
                        PATH=f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}")

    def run(self, cmd, cwd, ok=True, shell=False) -> subprocess.CompletedProcess:
        res = subprocess.run(cmd if shell else [str(c) for c in cmd], cwd=cwd, env=self.env,
                             shell=shell, executable="/bin/bash" if shell else None,
                             capture_output=True, text=True)
        if ok and res.returncode != 0:
            pytest.fail(f"{cmd} failed ({res.returncode}):\n"
                        f"{res.stdout[-4000:]}\n{res.stderr[-4000:]}")
        return res

    def site_packages(self) -> Path:
        return Path(self.run([self.python, "-c", "import sysconfig; "
                              "print(sysconfig.get_path('purelib'))"], self.root).stdout.strip())


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    """The repo as a newcomer's clone has it, as far as installing and the command go."""
    root = tmp_path_factory.mktemp("clone")
    for name in REPO_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, root / name)
    return root


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory, copy):
    """(venv, output) of README.md's first command, run in the copy inside a fresh venv."""
    venv = Venv(tmp_path_factory.mktemp("venv") / "env")
    return venv, venv.run(readme_install_command(), copy, shell=True)


@pytest.fixture(scope="module")
def installed(readme_run) -> Path:
    """The dlcoder package folder inside the venv."""
    venv, _ = readme_run
    package = venv.site_packages() / "dlcoder"
    assert (package / "__init__.py").is_file()
    return package


def test_readme_command_installs_generates_and_verifies(readme_run, copy):
    _, res = readme_run
    assert "verify: PASS" in res.stdout, res.stdout + res.stderr
    assert (copy / "gen" / "stripes.h").is_file()


def test_installed_package_ships_the_toolchain_and_the_license(readme_run, installed):
    venv, _ = readme_run
    cmake_dir = Path(venv.run([venv.python, "-m", "dlcoder", "--cmake-dir"], venv.root)
                     .stdout.strip())
    assert cmake_dir == installed / "cmake"
    assert ((cmake_dir / "toolchains" / "aarch64-linux-gnu.cmake").read_text()
            == (ROOT / "dlcoder" / TOOLCHAIN).read_text())
    dist_info = installed.parent / f"dlcoder-{dlcoder.__version__}.dist-info"
    assert (dist_info / "licenses" / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()
    metadata = (dist_info / "METADATA").read_text()
    assert "License-Expression: Apache-2.0" in metadata.splitlines(), metadata[:800]


def test_version_flag(readme_run):
    venv, _ = readme_run
    res = venv.run(["dlcoder", "--version"], venv.root)
    assert res.stdout.strip() == f"dlcoder {dlcoder.__version__}"


def test_wheel_builds_with_the_oldest_setuptools_admitted(readme_run, copy, tmp_path):
    # The SPDX `license` string needs setuptools 77: the lower bound must not lie.
    requires = re.search(r'^requires = \["setuptools>=([0-9]+)"\]',
                         (ROOT / "pyproject.toml").read_text(), re.M)
    assert requires, "pyproject.toml's build-system.requires changed form"
    venv, _ = readme_run
    venv.run([venv.python, "-m", "pip", "install", "--quiet",
              f"setuptools=={requires[1]}.*"], venv.root)
    venv.run([venv.python, "-m", "pip", "wheel", "--quiet", "--no-deps",
              "--no-build-isolation", "--no-index", "--wheel-dir", tmp_path, copy], venv.root)
    (wheel,) = tmp_path.glob("dlcoder-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert f"dlcoder/{TOOLCHAIN.as_posix()}" in names
    assert f"dlcoder-{dlcoder.__version__}.dist-info/licenses/LICENSE" in names
    # sources, templates, runtime headers and CMake files only: nothing recorded by a run
    assert {Path(n).suffix for n in names if n.startswith("dlcoder/")} == {
        ".py", ".j2", ".h", ".cmake"}, names


def test_cmake_dir_writes_nothing_and_uninstall_leaves_nothing(readme_run, installed):
    # Once `--cmake-dir` recorded its interpreter in the package, `pip uninstall` left that
    # file behind, and `import dlcoder` still succeeded, as an empty namespace package.
    venv, _ = readme_run
    before = sorted(installed.rglob("*"))
    venv.run([venv.python, "-m", "dlcoder", "--cmake-dir"], venv.root)
    assert sorted(installed.rglob("*")) == before
    venv.run([venv.python, "-m", "pip", "uninstall", "--yes", "--quiet", "dlcoder"], venv.root)
    assert not installed.exists()
    res = venv.run([venv.python, "-c", "import dlcoder"], venv.root, ok=False)
    assert "No module named 'dlcoder'" in res.stderr, res.stderr
